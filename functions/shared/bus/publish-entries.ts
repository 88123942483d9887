/**
 * Publishes entries in PutEvents requests of at most 10 entries and 256 KiB, and retries only the
 * entries that failed, with exponential backoff and full jitter, as long as the caller's time budget
 * allows. Shared by the consumer and the replay.
 */
import { METRICS, type MetricSink } from '../observability.ts';
import {
  type BusEntry,
  type BusEntryResult,
  BusUnavailableError,
  type EventBus,
  entrySize,
  MAX_ENTRIES_PER_PUT,
  MAX_PUT_EVENTS_BYTES,
} from './event-bus.ts';

/** Per-entry errors that the same entry will get again, so retrying them only wastes the budget. */
export const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'MalformedDetail',
  'ValidationException',
  'InvalidArgument',
  'EntryTooLarge',
]);

export interface PublishEntriesOptions {
  bus: EventBus;
  /** Epoch ms after which no new attempt starts (the invocation's time budget, less a margin). */
  deadline: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  metrics?: MetricSink;
  /** Called before each PutEvents request, e.g. for a rate limiter or a progress bar. */
  beforeRequest?: (entryCount: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Splits entry indexes into requests of at most 10 entries and 256 KiB. */
export function chunkEntries(entries: readonly BusEntry[], indexes: readonly number[]): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let currentBytes = 0;
  for (const index of indexes) {
    const size = entrySize(entries[index] as BusEntry);
    if (
      current.length === MAX_ENTRIES_PER_PUT ||
      (current.length > 0 && currentBytes + size > MAX_PUT_EVENTS_BYTES)
    ) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(index);
    currentBytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Returns one result per entry, in order: the EventBridge event id, or the last error. */
export async function publishEntries(
  entries: readonly BusEntry[],
  options: PublishEntriesOptions,
): Promise<BusEntryResult[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;

  const results: BusEntryResult[] = entries.map(() => ({
    ok: false,
    errorCode: 'NotAttempted',
    errorMessage: 'The time budget ran out before this entry was sent',
  }));
  let pending: number[] = [];
  entries.forEach((entry, index) => {
    if (entrySize(entry) > MAX_PUT_EVENTS_BYTES) {
      results[index] = {
        ok: false,
        errorCode: 'EntryTooLarge',
        errorMessage: `Entry is over ${MAX_PUT_EVENTS_BYTES} bytes`,
      };
    } else {
      pending.push(index);
    }
  });

  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: number[] = [];
    for (const chunk of chunkEntries(entries, pending)) {
      await options.beforeRequest?.(chunk.length);
      let chunkResults: BusEntryResult[];
      try {
        chunkResults = await options.bus.putEvents(chunk.map((index) => entries[index] as BusEntry));
      } catch (error) {
        if (!(error instanceof BusUnavailableError)) throw error;
        const cause = error.cause instanceof Error ? error.cause : error;
        chunkResults = chunk.map(() => ({ ok: false, errorCode: cause.name, errorMessage: cause.message }));
      }
      chunk.forEach((index, position) => {
        const result = chunkResults[position] as BusEntryResult;
        results[index] = result;
        if (!result.ok && !PERMANENT_ERROR_CODES.has(result.errorCode)) retry.push(index);
      });
      const failed = chunkResults.filter((result) => !result.ok).length;
      if (failed > 0) options.metrics?.addMetric(METRICS.putEventsFailedEntries, 'Count', failed);
    }
    pending = retry;
    if (pending.length === 0 || attempt >= maxAttempts) break;
    // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads retries of many
    // throttled consumers instead of having them hit the bus again in step.
    const delay = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
    if (now() + delay > options.deadline) break;
    await sleep(delay);
  }
  return results;
}
