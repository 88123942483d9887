/**
 * Paces PutEvents entries to a rate, as a virtual schedule: each request may start once the entries
 * sent before it fit in the time elapsed since the first, so over any run the average is the rate, and
 * a slow request is not followed by a burst beyond that average. Callers that run requests
 * concurrently are served in order.
 */
export interface RateLimiter {
  /** Resolves when `entries` more entries may be sent. */
  acquire(entries: number): Promise<void>;
}

export interface RateLimiterOptions {
  /** Entries per second; 0 means no limit. */
  perSecond: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { perSecond } = options;
  if (!(Number.isFinite(perSecond) && perSecond >= 0)) {
    throw new RangeError(`The rate must be a number of events per second, 0 or more; got ${perSecond}`);
  }
  if (perSecond === 0) return { acquire: async () => {} };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const msPerEntry = 1000 / perSecond;
  /** When the next request may start, epoch ms. */
  let nextStart: number | undefined;
  let queue: Promise<void> = Promise.resolve();

  return {
    acquire(entries: number): Promise<void> {
      const turn = queue.then(async () => {
        const current = now();
        // After an idle gap (a pause longer than the schedule), start a new schedule instead of
        // letting the unused time turn into a burst.
        const start = nextStart === undefined || nextStart < current ? current : nextStart;
        nextStart = start + entries * msPerEntry;
        if (start > current) await sleep(start - current);
      });
      queue = turn;
      return turn;
    },
  };
}
