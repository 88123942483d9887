/**
 * Which table requests a selection needs, and the filter that makes their union exactly the
 * selection. The most selective key wins: payment ids (a Query on `pk` each), else the order ref (the
 * `byOrderRef` index, bounded by the time window), else the time window (the `byReceivedDay` index,
 * one Query per UTC day, bounded by the window), else a full scan, which only `scan` allows. Every
 * other field is applied in code by {@link matchesSelection}.
 */
import type { ReplaySelection } from './selection.ts';
import { orderKeyOf, type ReplayCandidate, type SelectionQuery } from './stored-event-query.ts';

const DAY_MS = 86_400_000;

/** The UTC days (`yyyy-mm-dd`) from the one holding `since` to the one holding the last instant before `until`. */
export function utcDaysOf(since: string, until: string): string[] {
  const days: string[] = [];
  const last = Date.parse(until) - 1;
  for (let day = Date.parse(since.slice(0, 10)); day <= last; day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

export function planQueries(selection: ReplaySelection): SelectionQuery[] {
  if (selection.paymentIds) {
    return selection.paymentIds.map((paymentId) => ({ kind: 'payment', paymentId }));
  }
  // Sort-key bounds: `receivedKey` starts with the received time, so [since, until) is a key range.
  const range = { ...(selection.since !== undefined ? { from: selection.since } : {}), to: selection.until };
  if (selection.orderRef !== undefined) {
    return [{ kind: 'order-ref', orderRef: selection.orderRef, ...range }];
  }
  if (selection.since !== undefined) {
    return utcDaysOf(selection.since, selection.until).map((day) => ({
      kind: 'received-day',
      day,
      ...range,
    }));
  }
  if (selection.scan) return [{ kind: 'scan' }];
  // normaliseSelection refuses such a selection; this guards callers that skip it.
  throw new RangeError('The selection has no payment id, order ref or window, and does not allow a scan');
}

/** Whether a candidate belongs to the selection: every given field must match. */
export function matchesSelection(candidate: ReplayCandidate, selection: ReplaySelection): boolean {
  if (candidate.status !== 'received' && candidate.status !== 'published') return false;
  if (selection.paymentIds && !selection.paymentIds.includes(candidate.paymentId)) return false;
  if (selection.orderRef !== undefined && candidate.orderRef !== selection.orderRef) return false;
  const receivedAt = Date.parse(candidate.receivedAt);
  if (selection.since !== undefined && receivedAt < Date.parse(selection.since)) return false;
  if (!(receivedAt < Date.parse(selection.until))) return false;
  if (selection.types && !selection.types.includes(candidate.event)) return false;
  if (selection.status && candidate.status !== selection.status) return false;
  return true;
}

/** Runs `tasks` with at most `limit` of them in flight; results in task order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Parallel requests while selecting: enough to hide latency, few enough not to throttle a table. */
const QUERY_CONCURRENCY = 8;

/**
 * The selected events in replay order ({@link orderKeyOf}), each once. Candidates are held in memory:
 * about 200 bytes each, so a million events need some 200 MB.
 */
export async function selectCandidates(
  selection: ReplaySelection,
  run: (query: SelectionQuery) => Promise<ReplayCandidate[]>,
): Promise<ReplayCandidate[]> {
  const pages = await mapLimited(planQueries(selection), QUERY_CONCURRENCY, run);
  const byKey = new Map<string, ReplayCandidate>();
  for (const candidate of pages.flat()) {
    if (matchesSelection(candidate, selection)) byKey.set(orderKeyOf(candidate), candidate);
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, candidate]) => candidate);
}
