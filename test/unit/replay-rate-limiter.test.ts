import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../functions/replay/rate-limiter.ts';

/** A clock that only moves when the limiter sleeps (or the test says so). */
function virtualClock(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    elapsed: () => now - start,
  };
}

describe('createRateLimiter', () => {
  it('lets the first batch go at once and spaces the next ones by their size', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 100, ...clock });
    for (let batch = 0; batch < 5; batch++) await limiter.acquire(10);
    expect(clock.sleeps).toEqual([100, 100, 100, 100]);
  });

  it('holds the average at the rate: 1,000 entries at 250/s take 4 s less one batch', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 250, ...clock });
    for (let batch = 0; batch < 100; batch++) await limiter.acquire(10);
    expect(clock.elapsed()).toBe(4_000 - 40);
  });

  it('counts the time a request took, so slow requests are not followed by waits', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 100, ...clock });
    await limiter.acquire(10);
    clock.advance(60); // the request took 60 ms
    await limiter.acquire(10);
    expect(clock.sleeps).toEqual([40]);
  });

  it('does not turn an idle pause into a burst', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 100, ...clock });
    await limiter.acquire(10);
    clock.advance(5_000);
    await limiter.acquire(10);
    await limiter.acquire(10);
    expect(clock.sleeps).toEqual([100]);
  });

  it('serves concurrent callers in order, one slot each', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 10, ...clock });
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => limiter.acquire(5).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(clock.sleeps).toEqual([500, 500]);
  });

  it('does not wait at all with a rate of 0 (no limit)', async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 0, ...clock });
    for (let batch = 0; batch < 100; batch++) await limiter.acquire(10);
    expect(clock.sleeps).toEqual([]);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a rate of %s', (perSecond) => {
    expect(() => createRateLimiter({ perSecond })).toThrow(RangeError);
  });
});
