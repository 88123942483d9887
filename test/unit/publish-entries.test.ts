import { describe, expect, it } from 'vitest';
import { type BusEntry, entrySize } from '../../functions/shared/bus/event-bus.ts';
import { chunkEntries, publishEntries } from '../../functions/shared/bus/publish-entries.ts';
import { InMemoryEventBus, RecordingMetrics } from '../helpers/in-memory.ts';

const entry = (n: number, detailBytes = 20): BusEntry => ({
  source: 'okepay',
  detailType: 'payment.succeeded',
  detail: JSON.stringify({ n, pad: 'x'.repeat(Math.max(0, detailBytes - 20)) }),
  time: new Date('2026-05-10T12:46:52Z'),
});

/** A clock that only moves when the code sleeps, so backoff is exact and instant. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('chunkEntries', () => {
  it('puts at most 10 entries in a request', () => {
    const entries = Array.from({ length: 25 }, (_, n) => entry(n));
    expect(
      chunkEntries(
        entries,
        entries.map((_, i) => i),
      ).map((chunk) => chunk.length),
    ).toEqual([10, 10, 5]);
  });

  it('keeps each request within 256 KiB', () => {
    const entries = Array.from({ length: 6 }, (_, n) => entry(n, 100 * 1024));
    const chunks = chunkEntries(
      entries,
      entries.map((_, i) => i),
    );
    expect(chunks.map((chunk) => chunk.length)).toEqual([2, 2, 2]);
    for (const chunk of chunks) {
      expect(chunk.reduce((sum, i) => sum + entrySize(entries[i] as BusEntry), 0)).toBeLessThanOrEqual(
        256 * 1024,
      );
    }
  });
});

describe('publishEntries', () => {
  it('publishes 25 entries in 3 requests and returns the event ids in order', async () => {
    const bus = new InMemoryEventBus();
    const entries = Array.from({ length: 25 }, (_, n) => entry(n));
    const results = await publishEntries(entries, { bus, deadline: Number.POSITIVE_INFINITY });
    expect(bus.requests.map((request) => request.length)).toEqual([10, 10, 5]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(bus.published.map((e) => JSON.parse(e.detail).n)).toEqual(entries.map((_, n) => n));
  });

  it('retries only the entries that failed', async () => {
    const time = fakeTime();
    const metrics = new RecordingMetrics();
    const bus = new InMemoryEventBus().failNext(() => [
      undefined,
      'InternalFailure',
      undefined,
      'ThrottlingException',
    ]);
    const entries = [entry(0), entry(1), entry(2), entry(3)];

    const results = await publishEntries(entries, {
      bus,
      deadline: 60_000,
      ...time,
      random: () => 1,
      metrics,
    });

    expect(results.every((result) => result.ok)).toBe(true);
    expect(bus.requests.map((request) => request.map((e) => JSON.parse(e.detail).n))).toEqual([
      [0, 1, 2, 3],
      [1, 3],
    ]);
    expect(bus.published).toHaveLength(4);
    expect(metrics.count('PutEventsFailedEntries')).toBe(2);
  });

  it('backs off exponentially while the whole request is throttled, then succeeds', async () => {
    const time = fakeTime();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const bus = new InMemoryEventBus()
      .failNext(() => throttled)
      .failNext(() => throttled)
      .failNext(() => throttled);

    const results = await publishEntries([entry(0)], { bus, deadline: 60_000, ...time, random: () => 1 });

    expect(results).toEqual([{ ok: true, eventId: 'evt-1' }]);
    expect(time.sleeps).toEqual([200, 400, 800]);
  });

  it('stops retrying when the next attempt would pass the deadline, and reports the last error', async () => {
    const time = fakeTime();
    const bus = new InMemoryEventBus();
    for (let i = 0; i < 10; i++) bus.failNext(() => ['ThrottlingException']);

    const results = await publishEntries([entry(0)], { bus, deadline: 700, ...time, random: () => 1 });

    expect(results).toEqual([
      { ok: false, errorCode: 'ThrottlingException', errorMessage: expect.any(String) },
    ]);
    expect(time.sleeps).toEqual([200, 400]);
    expect(bus.requests).toHaveLength(3);
  });

  it('gives up after maxAttempts', async () => {
    const time = fakeTime();
    const bus = new InMemoryEventBus();
    for (let i = 0; i < 10; i++) bus.failNext(() => ['InternalFailure']);
    const results = await publishEntries([entry(0)], { bus, deadline: 1e9, ...time, maxAttempts: 4 });
    expect(bus.requests).toHaveLength(4);
    expect(results[0]).toMatchObject({ ok: false, errorCode: 'InternalFailure' });
  });

  it('does not retry an entry the bus calls malformed', async () => {
    const bus = new InMemoryEventBus().failNext(() => ['MalformedDetail', undefined]);
    const results = await publishEntries([entry(0), entry(1)], { bus, deadline: 1e9, sleep: async () => {} });
    expect(bus.requests).toHaveLength(1);
    expect(results.map((result) => result.ok)).toEqual([false, true]);
  });

  it('refuses an entry over 256 KiB without sending it, and sends the others', async () => {
    const bus = new InMemoryEventBus();
    const results = await publishEntries([entry(0, 257 * 1024), entry(1)], { bus, deadline: 1e9 });
    expect(results[0]).toMatchObject({ ok: false, errorCode: 'EntryTooLarge' });
    expect(results[1]).toMatchObject({ ok: true });
    expect(bus.requests).toEqual([[entry(1)]]);
  });

  it('calls beforeRequest with the size of each request (for rate limiting)', async () => {
    const sizes: number[] = [];
    await publishEntries(
      Array.from({ length: 12 }, (_, n) => entry(n)),
      { bus: new InMemoryEventBus(), deadline: 1e9, beforeRequest: async (count) => void sizes.push(count) },
    );
    expect(sizes).toEqual([10, 2]);
  });
});
