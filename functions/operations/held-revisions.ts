/**
 * Held revisions: a body with a known `payment_id` + `event` and different content, kept whole and
 * held for an operator (the `hold` revision policy). Listing them, releasing one (it is published as
 * its own canonical event, `detail.revision` ≥ 2) or discarding one (it stays stored, as the record,
 * and is never published). The CLI, locally and against a stack, runs these.
 */
import { type IpnQueue, queuedIpnOf } from '../shared/queue/ipn-queue.ts';
import type { EventStateStore, StateEntry } from '../shared/store/event-states.ts';
import { type EventKey, type EventStore, eventKeyId } from '../shared/store/event-store.ts';
import { NothingMatchesError, WrongStateError } from './errors.ts';

/** How an operator names held revisions: the payment, and optionally the event type and number. */
export interface RevisionSelector {
  paymentId?: string;
  event?: string;
  revision?: number;
}

export interface HeldRevisionDeps {
  store: Pick<EventStateStore, 'listState' | 'transition'> & Pick<EventStore, 'get'>;
  queue: IpnQueue;
  now: () => number;
}

export async function listHeldRevisions(
  deps: Pick<HeldRevisionDeps, 'store'>,
  selector: RevisionSelector = {},
): Promise<StateEntry[]> {
  const held = await deps.store.listState('held');
  return held.filter(
    (entry) =>
      entry.key !== undefined &&
      (selector.paymentId === undefined || entry.key.paymentId === selector.paymentId) &&
      (selector.event === undefined || entry.key.event === selector.event) &&
      (selector.revision === undefined || entry.revision === selector.revision),
  );
}

/** The one held revision the selector names; throws when it names none, or several. */
export async function findHeldRevision(
  deps: Pick<HeldRevisionDeps, 'store'>,
  selector: RevisionSelector,
): Promise<StateEntry & { key: EventKey }> {
  const matches = (await listHeldRevisions(deps, selector)).filter(
    (entry): entry is StateEntry & { key: EventKey } => entry.key !== undefined,
  );
  if (matches.length === 0) {
    throw new NothingMatchesError(
      `No held revision matches ${describeSelector(selector)}; \`okepay revisions list\` shows the held ones`,
    );
  }
  if (matches.length > 1) {
    const names = matches.map((entry) => `${entry.key.event} revision ${entry.revision}`).join(', ');
    throw new NothingMatchesError(
      `${matches.length} held revisions match ${describeSelector(selector)} (${names}); say which with the event type and revision number`,
    );
  }
  return matches[0] as StateEntry & { key: EventKey };
}

export function describeSelector(selector: RevisionSelector): string {
  const parts = [
    selector.paymentId === undefined ? 'any payment' : `payment ${selector.paymentId}`,
    ...(selector.event === undefined ? [] : [selector.event]),
    ...(selector.revision === undefined ? [] : [`revision ${selector.revision}`]),
  ];
  return parts.join(' ');
}

async function currentStatus(deps: Pick<HeldRevisionDeps, 'store'>, key: EventKey) {
  return (await deps.store.get(key))?.status;
}

/** Held → received, then enqueued: the consumer publishes it with its own `eventId`. */
export async function releaseRevision(deps: HeldRevisionDeps, entry: StateEntry & { key: EventKey }) {
  const at = new Date(deps.now()).toISOString();
  if (!(await deps.store.transition(entry.key, 'held', 'received', at))) {
    const status = await currentStatus(deps, entry.key);
    throw new WrongStateError(
      `${eventKeyId(entry.key)} is not held (it is ${status ?? 'gone'}); nothing was released`,
      status,
    );
  }
  // Had this send failed, the item would still be pending: the sweeper enqueues it after its grace.
  await deps.queue.enqueue(
    queuedIpnOf({ ...entry.key, bodySha256: entry.bodySha256, receivedAt: entry.receivedAt }),
  );
}

/** Held → discarded: kept as the record, never published. */
export async function discardRevision(deps: HeldRevisionDeps, entry: StateEntry & { key: EventKey }) {
  const at = new Date(deps.now()).toISOString();
  if (!(await deps.store.transition(entry.key, 'held', 'discarded', at))) {
    const status = await currentStatus(deps, entry.key);
    throw new WrongStateError(
      `${eventKeyId(entry.key)} is not held (it is ${status ?? 'gone'}); nothing was discarded`,
      status,
    );
  }
}
