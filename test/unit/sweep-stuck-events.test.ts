import { describe, expect, it } from 'vitest';
import {
  isDue,
  type SweepSettings,
  sweepStuckEvents,
} from '../../functions/operations/sweep-stuck-events.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import {
  InMemoryEventStore,
  InMemoryIpnQueue,
  RecordingLog,
  RecordingMetrics,
} from '../helpers/in-memory.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-05-10T12:00:00.000Z');

function stored(paymentId: string, receivedAt: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    paymentId,
    event: 'payment.succeeded',
    orderRef: 'ORDER-1',
    body: Buffer.from('{}'),
    bodySha256: 'a'.repeat(64),
    signatureTimestamp: receivedAt / 1000,
    receivedAt: new Date(receivedAt).toISOString(),
    occurredAt: new Date(receivedAt).toISOString(),
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
    ...overrides,
  };
}

async function setup(events: StoredEvent[]) {
  const store = new InMemoryEventStore();
  for (const event of events) await store.putIfAbsent(event);
  const queue = new InMemoryIpnQueue();
  const metrics = new RecordingMetrics();
  let now = T0;
  const deps = {
    store,
    queue,
    now: () => now,
    log: new RecordingLog(),
    metrics,
    settings: { graceMs: 15 * MINUTE } as SweepSettings,
  };
  return { store, queue, metrics, deps, setNow: (ms: number) => (now = ms) };
}

describe('sweepStuckEvents', () => {
  it('enqueues again only the unpublished events older than the grace period', async () => {
    const { queue, deps, metrics } = await setup([
      stored('pay_old', T0 - 20 * MINUTE),
      stored('pay_young', T0 - 5 * MINUTE),
      stored('pay_published', T0 - 60 * MINUTE, { status: 'published' }),
    ]);
    const report = await sweepStuckEvents(deps);
    expect(report).toMatchObject({ stuck: 1, reenqueued: 1, backingOff: 0 });
    expect(queue.messages.map((message) => message.paymentId)).toEqual(['pay_old']);
    expect(metrics.count('StuckEvents')).toBe(1);
    expect(metrics.count('StuckEventsReenqueued')).toBe(1);
  });

  it('backs off an item that stays stuck: 2×, 4×... the grace period between re-enqueues', async () => {
    const { queue, deps, setNow } = await setup([stored('pay_stuck', T0 - 20 * MINUTE)]);
    await sweepStuckEvents(deps);
    setNow(T0 + 10 * MINUTE);
    expect((await sweepStuckEvents(deps)).backingOff).toBe(1);
    setNow(T0 + 31 * MINUTE);
    expect((await sweepStuckEvents(deps)).reenqueued).toBe(1);
    setNow(T0 + 60 * MINUTE);
    expect((await sweepStuckEvents(deps)).reenqueued).toBe(0);
    setNow(T0 + 92 * MINUTE);
    expect((await sweepStuckEvents(deps)).reenqueued).toBe(1);
    expect(queue.messages).toHaveLength(3);
  });

  it('counts every stuck item but reads and enqueues only a bounded number per run, oldest first', async () => {
    const many = Array.from({ length: 40 }, (_, n) =>
      stored(`pay_many_${String(n).padStart(2, '0')}`, T0 - (60 - n) * MINUTE),
    );
    const { queue, deps, metrics } = await setup(many);
    deps.settings = { ...deps.settings, maxPerRun: 5 };
    const report = await sweepStuckEvents(deps);
    expect(report).toMatchObject({ stuck: 40, reenqueued: 5 });
    expect(report.stuckItems).toHaveLength(25);
    expect(queue.messages.map((message) => message.paymentId)).toEqual(
      many.slice(0, 5).map((event) => event.paymentId),
    );
    expect(metrics.count('StuckEvents')).toBe(40);
  });

  it('enqueues a stuck revision under its own key', async () => {
    const { queue, deps } = await setup([
      stored('pay_rev', T0 - 30 * MINUTE, { revisionHash: 'b'.repeat(64), revision: 2 }),
    ]);
    await sweepStuckEvents(deps);
    expect(queue.messages[0]).toMatchObject({ paymentId: 'pay_rev', revisionHash: 'b'.repeat(64) });
  });

  it('reports held revisions and rejected IPNs as gauges, zero included', async () => {
    const { store, deps, metrics } = await setup([
      stored('pay_held', T0 - 30 * MINUTE, { revisionHash: 'c'.repeat(64), revision: 2, status: 'held' }),
    ]);
    await store.recordRejected({
      body: Buffer.from('{}'),
      bodySha256: 'd'.repeat(64),
      signatureTimestamp: 0,
      receivedAt: new Date(T0).toISOString(),
      httpStatus: 400,
      issues: [],
      expiresAt: 0,
    });
    const report = await sweepStuckEvents(deps);
    expect(report).toMatchObject({ stuck: 0, held: 1, rejected: 1 });
    expect(metrics.counts.get('StuckEvents')).toBe(0);
    expect(metrics.count('HeldRevisions')).toBe(1);
    expect(metrics.count('RejectedIpnsWaiting')).toBe(1);
  });

  it('never enqueues an item that was published between the listing and the send', async () => {
    const { store, queue, deps } = await setup([stored('pay_race', T0 - 20 * MINUTE)]);
    const list = store.listState.bind(store);
    store.listState = async (state, options) => {
      const entries = await list(state, options);
      await store.markPublished({ paymentId: 'pay_race', event: 'payment.succeeded' }, 'now');
      return entries;
    };
    expect((await sweepStuckEvents(deps)).reenqueued).toBe(0);
    expect(queue.messages).toEqual([]);
  });
});

describe('isDue', () => {
  const entry = {
    state: 'pending' as const,
    bodySha256: 'a',
    status: 'received',
    receivedAt: 'x',
    sweepCount: 0,
  };
  it.each([
    [0, undefined, 0, true],
    [1, T0, 29 * MINUTE, false],
    [1, T0, 30 * MINUTE, true],
    [10, T0, 5 * 3_600_000, false],
    [10, T0, 6 * 3_600_000, true],
  ])('sweepCount %i, swept at %s, %i ms later → %s', (sweepCount, sweptAt, later, due) => {
    const swept = sweptAt === undefined ? {} : { sweptAt: new Date(sweptAt).toISOString() };
    expect(isDue({ ...entry, sweepCount, ...swept }, T0 + later, { graceMs: 15 * MINUTE })).toBe(due);
  });
});
