/**
 * `okepay events list` and the inspector's list: stored events by the replay's selectors (payment,
 * order ref, received window, type, status), or the ones waiting in a state (held, rejected, stuck),
 * newest first, a page at a time.
 */
import { selectCandidates } from '../replay/plan.ts';
import { normaliseSelection, type SelectionFieldNames } from '../replay/selection.ts';
import type { StoredEventQuery } from '../replay/stored-event-query.ts';
import { eventIdFor } from '../shared/canonical/event-id.ts';
import type { EventStateStore } from '../shared/store/event-states.ts';

export const LIST_STATES = ['held', 'rejected', 'stuck'] as const;
export type ListState = (typeof LIST_STATES)[number];

export interface EventListRow {
  receivedAt: string;
  paymentId?: string;
  event?: string;
  revision?: number;
  orderRef?: string;
  /** received, published, held, rejected; `stuck` for received past the grace period. */
  state: string;
  eventId?: string;
  /** Rejected rows: the body hash and the reasons. */
  bodySha256?: string;
  reasons?: string;
}

export interface ListEventsRequest {
  /** The replay's selection (paymentIds, orderRef, since, until, types, status); default: the last day. */
  selection?: Record<string, unknown>;
  names?: SelectionFieldNames;
  state?: ListState;
  /** Only rows received strictly before this ISO instant (the next page's cursor). */
  before?: string;
  limit: number;
  /** How old a received event must be to count as stuck. */
  stuckAfterMs?: number;
}

export interface ListEventsDeps {
  query: StoredEventQuery;
  states: Pick<EventStateStore, 'listState'>;
  now: () => number;
}

export interface EventListPage {
  rows: EventListRow[];
  /** Pass as `before` for the next page; absent on the last page. */
  nextBefore?: string;
}

const DAY_MS = 86_400_000;
export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;

export async function listEvents(request: ListEventsRequest, deps: ListEventsDeps): Promise<EventListPage> {
  const nowMs = deps.now();
  const stuckAfterMs = request.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  let rows: EventListRow[];
  if (request.state) {
    const state = request.state === 'stuck' ? 'pending' : request.state;
    const entries = await deps.states.listState(state, {
      newestFirst: true,
      ...(request.state === 'stuck' ? { receivedBefore: new Date(nowMs - stuckAfterMs).toISOString() } : {}),
    });
    rows = entries.map((entry) => ({
      receivedAt: entry.receivedAt,
      ...(entry.key ? { paymentId: entry.key.paymentId, event: entry.key.event } : {}),
      ...(entry.paymentIdHint && !entry.key ? { paymentId: entry.paymentIdHint } : {}),
      ...(entry.revision ? { revision: entry.revision } : {}),
      ...(entry.orderRef !== undefined ? { orderRef: entry.orderRef } : {}),
      state: request.state as string,
      ...(entry.key
        ? { eventId: eventIdFor(entry.key.paymentId, entry.key.event, entry.key.revisionHash) }
        : {}),
      bodySha256: entry.bodySha256,
      ...(entry.issues
        ? {
            reasons: entry.issues
              .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
              .join('; '),
          }
        : {}),
    }));
  } else {
    const given = request.selection ?? {};
    const selects = ['paymentIds', 'orderRef', 'since', 'scan'].some((field) => given[field] !== undefined);
    const selection = normaliseSelection(
      selects ? given : { ...given, since: new Date(nowMs - DAY_MS).toISOString() },
      new Date(nowMs),
      request.names,
    );
    const candidates = await selectCandidates(selection, (query) => deps.query.run(query));
    rows = candidates.reverse().map((candidate) => ({
      receivedAt: candidate.receivedAt,
      paymentId: candidate.paymentId,
      event: candidate.event,
      orderRef: candidate.orderRef,
      state:
        candidate.status === 'received' && Date.parse(candidate.receivedAt) < nowMs - stuckAfterMs
          ? 'stuck'
          : candidate.status,
      eventId: eventIdFor(candidate.paymentId, candidate.event, candidate.revisionHash),
      ...(candidate.revisionHash ? {} : { revision: 1 }),
    }));
  }
  const before = request.before;
  const after = before === undefined ? rows : rows.filter((row) => row.receivedAt < before);
  const page = after.slice(0, request.limit);
  const last = page[page.length - 1];
  return after.length > request.limit && last ? { rows: page, nextBefore: last.receivedAt } : { rows: page };
}
