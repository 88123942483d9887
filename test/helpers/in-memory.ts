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
import type { IpnQueue, QueuedIpn } from '../../functions/shared/queue/ipn-queue.ts';
import { StoredEventNotFoundError } from '../../functions/shared/store/errors.ts';
import {
  type EventKey,
  type EventStore,
  eventKeyId,
  type PutIfAbsentResult,
  type RejectedIpn,
  type StoredEvent,
} from '../../functions/shared/store/event-store.ts';

// structuredClone turns a Buffer into a plain Uint8Array; copy the body as a Buffer.
const clone = (event: StoredEvent): StoredEvent => ({ ...event, body: Buffer.from(event.body) });

export class InMemoryEventStore implements EventStore {
  readonly items = new Map<string, StoredEvent>();
  readonly rejected = new Map<string, RejectedIpn>();
  readonly conflicts: { key: string; bodySha256: string }[] = [];

  async putIfAbsent(event: StoredEvent): Promise<PutIfAbsentResult> {
    const existing = this.items.get(eventKeyId(event));
    if (existing) return { created: false, existing: clone(existing) };
    this.items.set(eventKeyId(event), clone(event));
    return { created: true };
  }

  async recordConflict(key: EventKey, bodySha256: string): Promise<void> {
    const item = this.items.get(eventKeyId(key));
    if (item) item.conflictCount += 1;
    this.conflicts.push({ key: eventKeyId(key), bodySha256 });
  }

  async recordRejected(rejected: RejectedIpn): Promise<void> {
    if (!this.rejected.has(rejected.bodySha256)) this.rejected.set(rejected.bodySha256, rejected);
  }

  async getMany(keys: readonly EventKey[]): Promise<StoredEvent[]> {
    return keys.flatMap((key) => {
      const item = this.items.get(eventKeyId(key));
      return item ? [clone(item)] : [];
    });
  }

  async markPublished(key: EventKey, at: string): Promise<boolean> {
    const item = this.items.get(eventKeyId(key));
    if (!item) throw new StoredEventNotFoundError(eventKeyId(key));
    if (item.status === 'published') return false;
    item.status = 'published';
    item.publishedAt = at;
    return true;
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
