/**
 * The sweeper: finds stored events still unpublished (`received`) after a grace period and enqueues
 * them again. Nothing else would: the queue lost them (a DLQ purge or expiry, okePay giving up on 503s
 * after the put succeeded, the local queue's memory after a crash). Enqueueing again is safe because
 * the consumer skips anything already published, and the event keeps its `eventId`.
 *
 * Each run also reports, as gauges, how many items wait in each state (stuck, held revisions, rejected
 * IPNs): the alarms stay raised until an operator has dealt with them, not only for the five minutes
 * after they arrived.
 */
import { type Log, METRICS, type MetricSink } from '../shared/observability.ts';
import { type IpnQueue, queuedIpnOf } from '../shared/queue/ipn-queue.ts';
import type { EventStateStore, StateEntry } from '../shared/store/event-states.ts';

export interface SweepSettings {
  /** An item younger than this is left to the queue. */
  graceMs: number;
  /** The longest wait between two re-enqueues of the same item (the backoff doubles up to it). */
  maxBackoffMs?: number;
  /** Re-enqueue at most this many items per run (the rest wait for the next run). */
  maxPerRun?: number;
}

export interface SweepDeps {
  store: Pick<EventStateStore, 'listState' | 'recordSweep' | 'countState'>;
  queue: IpnQueue;
  /** Milliseconds since the epoch. */
  now: () => number;
  log: Log;
  metrics: MetricSink;
  settings: SweepSettings;
}

export interface SweepReport {
  /** Items unpublished past the grace period. */
  stuck: number;
  reenqueued: number;
  /** Stuck items enqueued recently enough that this run left them to their backoff. */
  backingOff: number;
  held: number;
  rejected: number;
  /** The oldest stuck items, oldest first (for the CLI): at most a few runs' worth. */
  stuckItems: StateEntry[];
}

export const DEFAULT_MAX_BACKOFF_MS = 6 * 3_600_000;
export const DEFAULT_MAX_PER_RUN = 1_000;
/** How many runs' worth of the oldest stuck items one run reads, so items in backoff do not hide due ones. */
const LOOK_AHEAD_RUNS = 5;

/**
 * Whether an item is due: never swept, or its last sweep is older than grace × 2^sweeps (capped). An
 * item that fails every time (it ends in the DLQ again) is retried less and less often, never dropped.
 */
export function isDue(entry: StateEntry, nowMs: number, settings: SweepSettings): boolean {
  if (!entry.sweptAt || entry.sweepCount === 0) return true;
  const wait = Math.min(
    settings.graceMs * 2 ** entry.sweepCount,
    settings.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
  );
  return nowMs - Date.parse(entry.sweptAt) >= wait;
}

/**
 * The stuck items without changing anything (`okepay stuck list`): how many there are, and the oldest
 * `limit` of them.
 */
export async function findStuckEvents(
  deps: Pick<SweepDeps, 'store' | 'now' | 'settings'>,
  limit = 100,
): Promise<{ count: number; oldest: StateEntry[] }> {
  const cutoff = new Date(deps.now() - deps.settings.graceMs).toISOString();
  const [count, oldest] = await Promise.all([
    deps.store.countState('pending', { receivedBefore: cutoff }),
    deps.store.listState('pending', { receivedBefore: cutoff, limit }),
  ]);
  return { count, oldest };
}

export async function sweepStuckEvents(deps: SweepDeps): Promise<SweepReport> {
  const { store, log, metrics, settings } = deps;
  const nowMs = deps.now();
  const at = new Date(nowMs).toISOString();
  const maxPerRun = settings.maxPerRun ?? DEFAULT_MAX_PER_RUN;
  const cutoff = new Date(nowMs - settings.graceMs).toISOString();
  // During a long outage the stuck items can be millions: count them all (a COUNT query reads no
  // items into memory), but read only the oldest few runs' worth, backing-off ones included.
  const [stuck, stuckItems] = await Promise.all([
    store.countState('pending', { receivedBefore: cutoff }),
    store.listState('pending', { receivedBefore: cutoff, limit: maxPerRun * LOOK_AHEAD_RUNS }),
  ]);
  const due = stuckItems.filter((entry) => isDue(entry, nowMs, settings));
  const batch = due.slice(0, maxPerRun);

  let reenqueued = 0;
  for (const entry of batch) {
    if (!entry.key) continue;
    // Recorded first: if the item was published meanwhile, the condition fails and nothing is sent.
    if (!(await store.recordSweep(entry.key, at))) continue;
    await deps.queue.enqueue(
      queuedIpnOf({ ...entry.key, bodySha256: entry.bodySha256, receivedAt: entry.receivedAt }),
    );
    reenqueued += 1;
    log.warn('Enqueued a stuck event again', {
      ...entry.key,
      receivedAt: entry.receivedAt,
      sweepCount: entry.sweepCount + 1,
    });
  }

  const [held, rejected] = await Promise.all([store.countState('held'), store.countState('rejected')]);
  // Gauges: published on every run, zero included, so an alarm on them clears once the state is empty.
  metrics.addMetric(METRICS.stuckEvents, 'Count', stuck);
  metrics.addMetric(METRICS.stuckEventsReenqueued, 'Count', reenqueued);
  metrics.addMetric(METRICS.heldRevisions, 'Count', held);
  metrics.addMetric(METRICS.rejectedIpnsWaiting, 'Count', rejected);
  const report = {
    stuck,
    reenqueued,
    backingOff: stuckItems.length - due.length,
    held,
    rejected,
    stuckItems,
  };
  if (stuckItems.length > 0 || held > 0 || rejected > 0) {
    log.warn('Items wait for attention', { ...report, stuckItems: undefined });
  }
  return report;
}
