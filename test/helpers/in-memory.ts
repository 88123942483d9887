/**
 * In-memory implementations of the store and queue interfaces, for unit tests of the domain code and
 * for the CPU benchmark. They follow the DynamoDB adapter's contract (conditional put, conditional
 * mark-published); the adapter itself is tested against real servers in test/integration.
 */
import {
  type BusEntry,
  type BusEntryResult,
  BusUnavailableError,
  type EventBus,
} from '../../functions/shared/bus/event-bus.ts';
import type { OrderingFact } from '../../functions/shared/canonical/ordering.ts';
import type { IpnQueue, QueuedIpn } from '../../functions/shared/queue/ipn-queue.ts';
import { StoredEventNotFoundError, UnreadableStoredItemError } from '../../functions/shared/store/errors.ts';
import type {
  AttentionState,
  EventStateStore,
  ListStateOptions,
  StateEntry,
} from '../../functions/shared/store/event-states.ts';
import {
  type DedupMarker,
  type EventKey,
  type EventStore,
  eventKeyId,
  keyOf,
  type PaymentRecord,
  type PutIfAbsentResult,
  type RejectedIpn,
  type SeenResult,
  type StoredEvent,
  type StoredEventStatus,
  type StoredRejectedIpn,
  type UnreadableItem,
} from '../../functions/shared/store/event-store.ts';

// structuredClone turns a Buffer into a plain Uint8Array; copy the body as a Buffer.
const clone = (event: StoredEvent): StoredEvent => ({ ...event, body: Buffer.from(event.body) });

export class InMemoryEventStore implements EventStore, EventStateStore {
  readonly items = new Map<string, StoredEvent>();
  readonly rejected = new Map<string, StoredRejectedIpn>();
  readonly markers = new Map<string, DedupMarker>();
  readonly sweeps = new Map<string, { sweptAt: string; sweepCount: number }>();
  /** Keys whose items exist but cannot be read (as an altered DynamoDB item would be). */
  readonly unreadable = new Set<string>();

  async putIfAbsent(event: StoredEvent): Promise<PutIfAbsentResult> {
    const existing = this.items.get(eventKeyId(event));
    if (existing && this.unreadable.has(eventKeyId(event))) {
      throw new UnreadableStoredItemError(eventKeyId(event), { cause: new TypeError('altered') });
    }
    if (existing) return { created: false, existing: clone(existing) };
    this.items.set(eventKeyId(event), clone(event));
    return { created: true };
  }

  async get(key: EventKey): Promise<StoredEvent | undefined> {
    const item = this.items.get(eventKeyId(key));
    return item ? clone(item) : undefined;
  }

  async claimRevisionNumber(key: EventKey): Promise<number> {
    const first = this.items.get(eventKeyId({ paymentId: key.paymentId, event: key.event }));
    if (!first) throw new StoredEventNotFoundError(eventKeyId(key));
    first.conflictCount += 1;
    return first.conflictCount + 1;
  }

  async rememberSeen(marker: DedupMarker, nowSeconds: number): Promise<SeenResult> {
    const id = `${eventKeyId(marker)}@${marker.contentSha256}`;
    const existing = this.markers.get(id);
    if (!existing) {
      this.markers.set(id, { ...marker });
      this.deliveries.set(id, { count: 1, last: marker.deliveredAt });
      return 'new';
    }
    if (existing.bodyExpiresAt <= nowSeconds) return 'expired';
    const seen = this.deliveries.get(id);
    this.deliveries.set(id, { count: (seen?.count ?? 0) + 1, last: marker.deliveredAt });
    return 'stored';
  }

  async recordRejected(rejected: RejectedIpn): Promise<void> {
    if (!this.rejected.has(rejected.bodySha256)) {
      this.rejected.set(rejected.bodySha256, { ...rejected, status: 'rejected' });
    }
  }

  async getMany(keys: readonly EventKey[]): Promise<StoredEvent[]> {
    return (await this.readMany(keys)).events;
  }

  async readMany(
    keys: readonly EventKey[],
  ): Promise<{ events: StoredEvent[]; unreadable: UnreadableItem[] }> {
    const events: StoredEvent[] = [];
    const unreadable: UnreadableItem[] = [];
    for (const key of new Map(keys.map((key) => [eventKeyId(key), key])).values()) {
      const item = this.items.get(eventKeyId(key));
      if (this.unreadable.has(eventKeyId(key))) {
        unreadable.push({
          key: keyOf(key),
          error: new TypeError('stored item has no string attribute orderRef'),
        });
      } else if (item) events.push(clone(item));
    }
    return { events, unreadable };
  }

  async markPublished(key: EventKey, at: string, busEventId?: string): Promise<boolean> {
    const item = this.items.get(eventKeyId(key));
    if (!item) throw new StoredEventNotFoundError(eventKeyId(key));
    if (item.status === 'published') return false;
    item.status = 'published';
    item.publishedAt = at;
    if (busEventId) item.busEventId = busEventId;
    return true;
  }

  readonly failures = new Map<string, { at: string; reason: string; count: number }>();
  async recordPublishFailure(key: EventKey, at: string, reason: string): Promise<void> {
    const item = this.items.get(eventKeyId(key));
    if (item?.status !== 'received') return;
    const previous = this.failures.get(eventKeyId(key));
    this.failures.set(eventKeyId(key), { at, reason, count: (previous?.count ?? 0) + 1 });
  }

  async paymentRecord(paymentId: string): Promise<PaymentRecord> {
    return {
      events: [...this.items.values()]
        .filter((item) => item.paymentId === paymentId)
        .map((item) => {
          const failure = this.failures.get(eventKeyId(item));
          const sweep = this.sweeps.get(eventKeyId(item));
          return {
            ...clone(item),
            ...(failure
              ? { failureCount: failure.count, lastFailureAt: failure.at, lastFailureReason: failure.reason }
              : {}),
            ...(sweep ? { sweptAt: sweep.sweptAt, sweepCount: sweep.sweepCount } : {}),
          };
        }),
      markers: [...this.markers.values()]
        .filter((marker) => marker.paymentId === paymentId)
        .map((marker) => ({
          paymentId: marker.paymentId,
          event: marker.event,
          contentSha256: marker.contentSha256,
          bodyExpiresAt: marker.bodyExpiresAt,
          deliveryCount: this.deliveries.get(`${eventKeyId(marker)}@${marker.contentSha256}`)?.count ?? 1,
          firstDeliveredAt: marker.deliveredAt,
          lastDeliveredAt:
            this.deliveries.get(`${eventKeyId(marker)}@${marker.contentSha256}`)?.last ?? marker.deliveredAt,
          lastSignatureSkewSeconds: marker.signatureSkewSeconds,
        })),
    };
  }

  readonly deliveries = new Map<string, { count: number; last: string }>();

  async orderingFacts(paymentIds: readonly string[]): Promise<Map<string, OrderingFact[]>> {
    return new Map(
      paymentIds.map((paymentId) => [
        paymentId,
        [...this.items.values()]
          .filter((item) => item.paymentId === paymentId)
          .map(({ event, revision, occurredAt, receivedAt, status }) => ({
            event,
            revision,
            occurredAt,
            receivedAt,
            status,
          })),
      ]),
    );
  }

  async listState(state: AttentionState, options: ListStateOptions = {}): Promise<StateEntry[]> {
    const entries: StateEntry[] =
      state === 'rejected'
        ? [...this.rejected.values()]
            .filter((item) => item.status === 'rejected')
            .map((item) => ({
              state,
              bodySha256: item.bodySha256,
              status: item.status,
              receivedAt: item.receivedAt,
              httpStatus: item.httpStatus,
              issues: item.issues,
              sweepCount: 0,
            }))
        : [...this.items.values()]
            .filter((item) => item.status === (state === 'pending' ? 'received' : 'held'))
            .map((item) => {
              const sweep = this.sweeps.get(eventKeyId(item));
              return {
                state,
                key: keyOf(item),
                bodySha256: item.bodySha256,
                orderRef: item.orderRef,
                status: item.status,
                revision: item.revision,
                receivedAt: item.receivedAt,
                ...(sweep ? { sweptAt: sweep.sweptAt } : {}),
                sweepCount: sweep?.sweepCount ?? 0,
              };
            });
    const selected = entries
      .filter((entry) => options.receivedBefore === undefined || entry.receivedAt < options.receivedBefore)
      .sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
    if (options.newestFirst) selected.reverse();
    return options.limit === undefined ? selected : selected.slice(0, options.limit);
  }

  async countState(state: AttentionState, options: { receivedBefore?: string } = {}): Promise<number> {
    return (await this.listState(state, options)).length;
  }

  async transition(
    key: EventKey,
    from: StoredEventStatus,
    to: Exclude<StoredEventStatus, 'published'>,
  ): Promise<boolean> {
    const item = this.items.get(eventKeyId(key));
    if (!item || item.status !== from) return false;
    item.status = to;
    return true;
  }

  async recordSweep(key: EventKey, at: string): Promise<boolean> {
    const item = this.items.get(eventKeyId(key));
    if (item?.status !== 'received') return false;
    const previous = this.sweeps.get(eventKeyId(key));
    this.sweeps.set(eventKeyId(key), { sweptAt: at, sweepCount: (previous?.sweepCount ?? 0) + 1 });
    return true;
  }

  async getRejected(bodySha256: string): Promise<StoredRejectedIpn | undefined> {
    const item = this.rejected.get(bodySha256);
    return item ? { ...item, body: Buffer.from(item.body) } : undefined;
  }

  async markReprocessed(bodySha256: string, as: EventKey, at: string): Promise<boolean> {
    const item = this.rejected.get(bodySha256);
    if (item?.status !== 'rejected') return false;
    Object.assign(item, { status: 'reprocessed', reprocessedAt: at, reprocessedAs: keyOf(as) });
    return true;
  }

  async updateRejectedIssues(bodySha256: string, issues: { path: string; message: string }[]): Promise<void> {
    const item = this.rejected.get(bodySha256);
    if (item) item.issues = issues;
  }
}

export class InMemoryIpnQueue implements IpnQueue {
  readonly messages: QueuedIpn[] = [];
  async enqueue(message: QueuedIpn): Promise<void> {
    this.messages.push(structuredClone(message));
  }
}

/** A logger that keeps every line, so tests can read what would have been logged. */
export class RecordingLog {
  readonly lines: { level: string; message: string; extra: unknown[] }[] = [];
  debug = (message: unknown, ...extra: unknown[]) => this.record('debug', message, extra);
  info = (message: unknown, ...extra: unknown[]) => this.record('info', message, extra);
  warn = (message: unknown, ...extra: unknown[]) => this.record('warn', message, extra);
  error = (message: unknown, ...extra: unknown[]) => this.record('error', message, extra);
  private record(level: string, message: unknown, extra: unknown[]) {
    this.lines.push({ level, message: String(message), extra });
  }
}

export class RecordingMetrics {
  readonly counts = new Map<string, number>();
  addMetric = (name: string, _unit: unknown, value: number) => {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  };
  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/**
 * An in-memory bus that records every PutEvents request and can be told how to answer each one:
 * `failNext(fn)` queues a decision per request (throw, or per-entry error codes).
 */
export class InMemoryEventBus implements EventBus {
  readonly requests: BusEntry[][] = [];
  readonly published: BusEntry[] = [];
  private readonly plans: ((entries: readonly BusEntry[]) => (string | undefined)[] | Error)[] = [];
  private counter = 0;

  /** The next request answers with these per-entry error codes (undefined = success), or throws. */
  failNext(plan: (entries: readonly BusEntry[]) => (string | undefined)[] | Error): this {
    this.plans.push(plan);
    return this;
  }

  async putEvents(entries: readonly BusEntry[]): Promise<BusEntryResult[]> {
    this.requests.push([...entries]);
    const plan = this.plans.shift();
    const decision = plan ? plan(entries) : [];
    if (decision instanceof Error) throw new BusUnavailableError({ cause: decision });
    return entries.map((entry, index) => {
      const errorCode = decision[index];
      if (errorCode) return { ok: false, errorCode, errorMessage: `${errorCode} (injected)` };
      this.published.push(entry);
      this.counter += 1;
      return { ok: true, eventId: `evt-${this.counter}` };
    });
  }
}
