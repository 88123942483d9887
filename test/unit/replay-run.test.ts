import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ReplayInProgressError,
  ReplayLeaseLostError,
  ReplayNotFoundError,
} from '../../functions/replay/errors.ts';
import type {
  ReplayLease,
  ReplayProgressStore,
  ReplayRecord,
} from '../../functions/replay/replay-progress-store.ts';
import {
  dryRunReplay,
  MAX_RECORDED_FAILURES,
  type ReplayDeps,
  runReplay,
} from '../../functions/replay/run-replay.ts';
import type {
  ReplayCandidate,
  SelectionQuery,
  StoredEventQuery,
} from '../../functions/replay/stored-event-query.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import type { PaymentEventDetail } from '../../functions/shared/canonical/payment-event.ts';
import { StoreUnavailableError } from '../../functions/shared/store/errors.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { InMemoryEventBus, InMemoryEventStore } from '../helpers/in-memory.ts';
import { ipnJson } from '../helpers/ipn.ts';

/** Answers selection queries from the in-memory store's items, as the DynamoDB adapter would. */
class InMemoryStoredEventQuery implements StoredEventQuery {
  readonly queries: SelectionQuery[] = [];
  /** Candidates the query returns although the store has no item (expired between query and read). */
  readonly ghosts: ReplayCandidate[] = [];
  constructor(private readonly store: InMemoryEventStore) {}

  async run(query: SelectionQuery): Promise<ReplayCandidate[]> {
    this.queries.push(query);
    const inRange = (receivedAt: string, from: string | undefined, to: string) =>
      (from === undefined || receivedAt >= from) && receivedAt < to;
    const all: ReplayCandidate[] = [...this.store.items.values(), ...this.ghosts].map((item) => ({
      paymentId: item.paymentId,
      event: item.event,
      orderRef: item.orderRef,
      status: item.status,
      receivedAt: item.receivedAt,
    }));
    switch (query.kind) {
      case 'payment':
        return all.filter((c) => c.paymentId === query.paymentId);
      case 'order-ref':
        return all.filter(
          (c) => c.orderRef === query.orderRef && inRange(c.receivedAt, query.from, query.to),
        );
      case 'received-day':
        return all.filter(
          (c) => c.receivedAt.startsWith(query.day) && inRange(c.receivedAt, query.from, query.to),
        );
      case 'scan':
        return all;
    }
  }
}

/** The progress store's contract (conditional create, lease, owner-checked writes) in memory. */
class InMemoryReplayProgressStore implements ReplayProgressStore {
  readonly records = new Map<string, { record: ReplayRecord; lease?: ReplayLease }>();
  saves = 0;

  async create(record: ReplayRecord, lease: ReplayLease): Promise<void> {
    if (this.records.has(record.replayId)) throw new Error(`replay ${record.replayId} exists`);
    this.records.set(record.replayId, { record: structuredClone(record), lease: { ...lease } });
  }
  async get(replayId: string): Promise<ReplayRecord | undefined> {
    const held = this.records.get(replayId);
    return held ? structuredClone(held.record) : undefined;
  }
  async claim(replayId: string, lease: ReplayLease, now: number): Promise<ReplayRecord> {
    const held = this.records.get(replayId);
    if (!held) throw new ReplayNotFoundError(replayId);
    if (held.lease && held.lease.expiresAt >= now) {
      throw new ReplayInProgressError(replayId, new Date(held.lease.expiresAt).toISOString());
    }
    held.lease = { ...lease };
    return structuredClone(held.record);
  }
  async save(record: ReplayRecord, lease: ReplayLease): Promise<void> {
    const held = this.hold(record, lease.owner);
    held.record = structuredClone(record);
    held.lease = { ...lease };
    this.saves++;
  }
  async release(record: ReplayRecord, owner: string): Promise<void> {
    const held = this.hold(record, owner);
    held.record = structuredClone(record);
    held.lease = undefined;
  }
  /** Another process takes the lease over, as after an expiry. */
  steal(replayId: string): void {
    const held = this.records.get(replayId);
    if (held) held.lease = { owner: 'someone-else', expiresAt: Date.now() + 3_600_000 };
  }
  private hold(record: ReplayRecord, owner: string) {
    const held = this.records.get(record.replayId);
    if (!held || held.lease?.owner !== owner) throw new ReplayLeaseLostError(record.replayId);
    return held;
  }
}

function storedEvent(
  paymentId: string,
  event: string,
  receivedAt: string,
  orderRef = 'ORDER-1',
): StoredEvent {
  const body = Buffer.from(ipnJson({ payment_id: paymentId, event, order_ref: orderRef }));
  return {
    paymentId,
    event,
    orderRef,
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: 0,
    receivedAt,
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'published',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
}

/** `count` events of distinct payments, received one second apart from 2026-05-10T10:00:00Z. */
function manyEvents(count: number): StoredEvent[] {
  return Array.from({ length: count }, (_, index) =>
    storedEvent(
      `pay_${String(index).padStart(4, '0')}`,
      'payment.succeeded',
      new Date(Date.parse('2026-05-10T10:00:00.000Z') + index * 1000).toISOString(),
    ),
  );
}

async function setup(events: StoredEvent[]) {
  const store = new InMemoryEventStore();
  for (const event of events) await store.putIfAbsent(event);
  const query = new InMemoryStoredEventQuery(store);
  const progress = new InMemoryReplayProgressStore();
  const bus = new InMemoryEventBus();
  const deps: ReplayDeps = {
    query,
    store,
    progress,
    bus,
    eventSource: 'okepay',
    now: Date.now,
    sleep: async () => {},
    random: () => 0,
  };
  return { store, query, progress, bus, deps };
}

const detailsOf = (bus: InMemoryEventBus) =>
  bus.published.map((entry) => JSON.parse(entry.detail) as PaymentEventDetail);
const WINDOW = { since: '2026-05-10T00:00:00Z', until: '2026-05-11T00:00:00Z' };

describe('runReplay', () => {
  it('publishes each selected event once, in received order, as the live event plus the replay marker', async () => {
    const { bus, deps } = await setup([
      storedEvent('pay_1', 'payment.succeeded', '2026-05-10T10:00:02.000Z'),
      storedEvent('pay_1', 'payment.pending', '2026-05-10T10:00:01.000Z'),
      storedEvent('pay_2', 'payment.pending', '2026-05-10T10:00:00.000Z'),
    ]);
    const outcome = await runReplay({ selection: { paymentIds: ['pay_1'] } }, deps, { rate: 0 });

    expect(outcome).toMatchObject({
      selected: 2,
      published: 2,
      complete: true,
      failures: [],
      recorded: true,
    });
    const details = detailsOf(bus);
    expect(details.map((d) => d.type)).toEqual(['payment.pending', 'payment.succeeded']);
    for (const detail of details) {
      expect(detail.eventId).toBe(eventIdFor(detail.paymentId, detail.type));
      expect(detail.replay).toEqual({ replayId: outcome.replayId, requestedAt: outcome.requestedAt });
    }
    expect(outcome.replayId).toMatch(/^rp-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  });

  it('records the replay as complete, with its frozen selection, and gives the lease back', async () => {
    const { progress, deps } = await setup(manyEvents(25));
    const outcome = await runReplay({ selection: WINDOW }, deps, { rate: 0 });
    const held = progress.records.get(outcome.replayId);
    expect(held?.lease).toBeUndefined();
    expect(held?.record).toMatchObject({
      complete: true,
      published: 25,
      failures: [],
      selection: { since: '2026-05-10T00:00:00.000Z', until: '2026-05-11T00:00:00.000Z' },
    });
    expect(held?.record.cursor).toMatch(
      /^2026-05-10T10:00:24\.000Z#PAYMENT#pay_0024#EVENT#payment\.succeeded$/,
    );
  });

  it('publishes in PutEvents requests of 10', async () => {
    const { bus, deps } = await setup(manyEvents(35));
    await runReplay({ selection: WINDOW }, deps, { rate: 0 });
    expect(bus.requests.map((request) => request.length)).toEqual([10, 10, 10, 5]);
  });

  it('writes no record and publishes nothing when nothing is selected', async () => {
    const { bus, progress, deps } = await setup(manyEvents(3));
    const outcome = await runReplay({ selection: { orderRef: 'NO-SUCH-ORDER' } }, deps, { rate: 0 });
    expect(outcome).toMatchObject({ selected: 0, complete: true, recorded: false });
    expect(bus.requests).toHaveLength(0);
    expect(progress.records.size).toBe(0);
  });

  it('retries failed entries within the batch, and records those that still fail, with the reason', async () => {
    const { bus, progress, deps } = await setup(manyEvents(10));
    // pay_0003 fails three times, then succeeds; pay_0007 always fails (a permanent error).
    const failing = (entries: readonly { detail: string }[], ids: string[]) =>
      entries.map((entry) =>
        ids.some((id) => entry.detail.includes(`"${id}"`)) ? 'InternalFailure' : undefined,
      );
    bus.failNext((entries) => failing(entries, ['pay_0003', 'pay_0007']));
    bus.failNext((entries) => failing(entries, ['pay_0003', 'pay_0007']));
    for (let i = 0; i < 10; i++) bus.failNext((entries) => failing(entries, ['pay_0007']));

    const outcome = await runReplay({ selection: WINDOW }, deps, { rate: 0 });
    expect(outcome.published).toBe(9);
    expect(outcome.complete).toBe(true);
    expect(outcome.failures).toEqual([
      expect.objectContaining({ paymentId: 'pay_0007', errorCode: 'InternalFailure' }),
    ]);
    expect(progress.records.get(outcome.replayId)?.record.failures).toHaveLength(1);
  });

  it('records a stored event that vanished between selection and read as failed, and goes on', async () => {
    const { query, deps } = await setup(manyEvents(5));
    query.ghosts.push({
      paymentId: 'pay_gone',
      event: 'payment.succeeded',
      orderRef: 'ORDER-1',
      status: 'received',
      receivedAt: '2026-05-10T10:00:02.500Z',
    });
    const outcome = await runReplay({ selection: WINDOW }, deps, { rate: 0 });
    expect(outcome.published).toBe(5);
    expect(outcome.failures).toEqual([
      expect.objectContaining({ paymentId: 'pay_gone', errorCode: 'StoredEventMissing' }),
    ]);
  });

  it('stops after the batches in flight when interrupted, and a resume publishes the rest: each event once', async () => {
    const events = manyEvents(200);
    const { bus, progress, deps } = await setup(events);
    const controller = new AbortController();
    const first = await runReplay({ selection: WINDOW }, deps, {
      rate: 0,
      concurrency: 3,
      signal: controller.signal,
      onProgress: (state) => {
        if (state.attempted >= 50) controller.abort();
      },
    });
    expect(first.stopped).toBe('interrupted');
    expect(first.complete).toBe(false);
    expect(first.published).toBeGreaterThanOrEqual(50);
    expect(first.published).toBeLessThan(200);
    expect(progress.records.get(first.replayId)?.lease).toBeUndefined();

    const second = await runReplay({ resume: first.replayId }, deps, { rate: 0 });
    expect(second).toMatchObject({
      replayId: first.replayId,
      resumed: true,
      complete: true,
      alreadyDone: first.published,
      published: 200 - first.published,
      publishedTotal: 200,
    });

    const ids = detailsOf(bus).map((detail) => detail.eventId);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    expect(new Set(detailsOf(bus).map((detail) => detail.replay?.replayId))).toEqual(
      new Set([first.replayId]),
    );
  });

  it('on resume, retries the recorded failures first and then continues after the cursor', async () => {
    const { bus, deps } = await setup(manyEvents(30));
    const controller = new AbortController();
    // The first run: the first request fails entirely (bus down) past the retries, then Ctrl-C.
    for (let i = 0; i < 8; i++) bus.failNext(() => new Error('bus down'));
    const first = await runReplay({ selection: WINDOW }, deps, {
      rate: 0,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (state) => {
        if (state.attempted >= 20) controller.abort();
      },
    });
    expect(first.failures).toHaveLength(10);
    expect(first.failures[0]).toMatchObject({ errorCode: 'Error', errorMessage: 'bus down' });
    const publishedFirst = bus.published.length;

    const second = await runReplay({ resume: first.replayId }, deps, { rate: 0 });
    expect(second).toMatchObject({ complete: true, failures: [], publishedTotal: 30 });
    const resumedOrder = bus.published
      .slice(publishedFirst)
      .map((entry) => JSON.parse(entry.detail).paymentId);
    expect(resumedOrder.slice(0, 10)).toEqual(first.failures.map((failure) => failure.paymentId));
    expect(new Set(detailsOf(bus).map((detail) => detail.eventId)).size).toBe(30);
    expect(bus.published).toHaveLength(30);
  });

  it('keeps the failures listed when a resume is interrupted before retrying them', async () => {
    const { bus, progress, deps } = await setup(manyEvents(20));
    for (let i = 0; i < 8; i++) bus.failNext(() => new Error('bus down'));
    const first = await runReplay({ selection: WINDOW }, deps, { rate: 0, concurrency: 1 });
    expect(first.failures).toHaveLength(10);

    const aborted = new AbortController();
    aborted.abort();
    await runReplay({ resume: first.replayId }, deps, { rate: 0, signal: aborted.signal });
    expect(progress.records.get(first.replayId)?.record.failures).toHaveLength(10);
  });

  it('stops at the time budget and says so; the rest is left for a resume', async () => {
    const { deps } = await setup(manyEvents(100));
    let clock = Date.parse('2026-05-10T13:00:00.000Z');
    deps.now = () => clock;
    const start = clock;
    const outcome = await runReplay({ selection: WINDOW }, deps, {
      rate: 0,
      concurrency: 1,
      stopAt: start + 3_000,
      onProgress: () => {
        clock += 1_000; // each batch takes a second
      },
    });
    expect(outcome).toMatchObject({ stopped: 'time-budget', complete: false, published: 30 });
  });

  it(`stops when more than ${MAX_RECORDED_FAILURES} events failed`, async () => {
    const { bus, deps } = await setup(manyEvents(300));
    for (let i = 0; i < 1000; i++) bus.failNext((entries) => entries.map(() => 'InternalFailure'));
    const outcome = await runReplay({ selection: WINDOW }, deps, { rate: 0, concurrency: 1 });
    expect(outcome.stopped).toBe('too-many-failures');
    expect(outcome.failures.length).toBeGreaterThan(MAX_RECORDED_FAILURES);
    expect(outcome.failures.length).toBeLessThanOrEqual(MAX_RECORDED_FAILURES + 10);
  });

  it('refuses to resume a replay another process is running', async () => {
    const { progress, deps } = await setup(manyEvents(20));
    const controller = new AbortController();
    controller.abort();
    const first = await runReplay({ selection: WINDOW }, deps, { rate: 0, signal: controller.signal });
    progress.steal(first.replayId);
    await expect(runReplay({ resume: first.replayId }, deps, { rate: 0 })).rejects.toThrow(
      ReplayInProgressError,
    );
  });

  it('stops, and throws, when its lease was taken over', async () => {
    const { progress, deps } = await setup(manyEvents(100));
    let replayId = '';
    const run = runReplay({ selection: WINDOW }, deps, {
      rate: 0,
      concurrency: 1,
      checkpointEveryMs: 0,
      onStart: (start) => {
        replayId = start.replayId;
      },
      onProgress: (state) => {
        if (state.attempted === 20) progress.steal(replayId);
      },
    });
    await expect(run).rejects.toThrow(ReplayLeaseLostError);
    expect(progress.records.get(replayId)?.record.published).toBeLessThan(100);
  });

  it('records what it published before the store failed, throws, and a resume continues from there', async () => {
    const { bus, store, progress, deps } = await setup(manyEvents(250));
    let reads = 0;
    deps.store = {
      getMany: async (keys) => {
        reads++;
        if (reads === 2) throw new StoreUnavailableError('BatchGetItem', { cause: new Error('throttled') });
        return store.getMany(keys);
      },
    };
    let replayId = '';
    await expect(
      runReplay({ selection: WINDOW }, deps, {
        rate: 0,
        onStart: (start) => {
          replayId = start.replayId;
        },
      }),
    ).rejects.toThrow(StoreUnavailableError);
    const held = progress.records.get(replayId);
    expect(held?.lease).toBeUndefined();
    expect(held?.record).toMatchObject({ published: 100, complete: false });

    const resumed = await runReplay({ resume: replayId }, deps, { rate: 0 });
    expect(resumed).toMatchObject({ published: 150, publishedTotal: 250, complete: true });
    expect(new Set(detailsOf(bus).map((detail) => detail.eventId)).size).toBe(250);
    expect(bus.published).toHaveLength(250);
  });

  it('says when the replay to resume does not exist', async () => {
    const { deps } = await setup([]);
    await expect(runReplay({ resume: 'rp-nope' }, deps, { rate: 0 })).rejects.toThrow(ReplayNotFoundError);
  });

  it('queries only the days of the window', async () => {
    const { query, deps } = await setup(manyEvents(3));
    await runReplay({ selection: { since: '2026-05-09T12:00:00Z', until: '2026-05-10T12:00:00Z' } }, deps, {
      rate: 0,
    });
    expect(query.queries.map((q) => (q.kind === 'received-day' ? q.day : q.kind))).toEqual([
      '2026-05-09',
      '2026-05-10',
    ]);
  });
});

describe('dryRunReplay', () => {
  it('lists what would be replayed, in order, and publishes and records nothing', async () => {
    const { bus, progress, deps } = await setup(manyEvents(12));
    const outcome = await dryRunReplay({ selection: { ...WINDOW, types: ['payment.succeeded'] } }, deps);
    expect(outcome.selected).toBe(12);
    expect(outcome.events.map((event) => event.paymentId)).toEqual(manyEvents(12).map((e) => e.paymentId));
    expect(bus.requests).toHaveLength(0);
    expect(progress.records.size).toBe(0);
  });

  it('for a resume, lists what is left without taking the lease', async () => {
    const { progress, deps } = await setup(manyEvents(40));
    const controller = new AbortController();
    const first = await runReplay({ selection: WINDOW }, deps, {
      rate: 0,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (state) => {
        if (state.attempted >= 10) controller.abort();
      },
    });
    const outcome = await dryRunReplay({ resume: first.replayId }, deps);
    expect(outcome).toMatchObject({ replayId: first.replayId, selected: 40, alreadyDone: first.published });
    expect(outcome.events).toHaveLength(40 - first.published);
    expect(progress.records.get(first.replayId)?.lease).toBeUndefined();
  });
});

describe('the record stays small', () => {
  it('holds the selection and a cursor, not the events', async () => {
    const { progress, deps } = await setup(manyEvents(500));
    const outcome = await runReplay({ selection: WINDOW }, deps, { rate: 0 });
    expect(JSON.stringify(progress.records.get(outcome.replayId)?.record).length).toBeLessThan(1_000);
  });
});
