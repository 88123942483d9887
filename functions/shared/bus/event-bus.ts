/** One EventBridge bus: what the consumer and the replay publish to. */
import { stringify as stringifyLosslessJson } from 'lossless-json';

export interface BusEntry {
  source: string;
  detailType: string;
  /** The detail as JSON text (see {@link detailJson}). */
  detail: string;
  time: Date;
}

export type BusEntryResult =
  | { ok: true; eventId: string }
  | { ok: false; errorCode: string; errorMessage: string };

export interface EventBus {
  /**
   * One PutEvents request of at most {@link MAX_ENTRIES_PER_PUT} entries within
   * {@link MAX_PUT_EVENTS_BYTES}. Returns one result per entry, in order. Throws
   * {@link BusUnavailableError} when the request as a whole failed.
   */
  putEvents(entries: readonly BusEntry[]): Promise<BusEntryResult[]>;
}

export const MAX_ENTRIES_PER_PUT = 10;
/** PutEvents' limit on the total size of a request's entries. */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"): 14 bytes for
 * the Time, plus the UTF-8 bytes of Source, DetailType and Detail (and Resources, which we never set).
 */
export function entrySize(entry: BusEntry): number {
  return (
    14 +
    Buffer.byteLength(entry.source) +
    Buffer.byteLength(entry.detailType) +
    Buffer.byteLength(entry.detail)
  );
}

/** The whole PutEvents request failed (throttled past the SDK's retries, 5xx, network). */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
  constructor(options: ErrorOptions) {
    super('EventBridge PutEvents failed', options);
  }
}

/**
 * The JSON text of an entry's detail. Like JSON.stringify, except that LosslessNumber values (the
 * numbers of a payload read with lossless-json) are written as the text they were read from, so
 * `9994456683762355345868` and `129.90` reach the bus as sent. EventBridge passes the text on to targets.
 */
export function detailJson(detail: object): string {
  const json = stringifyLosslessJson(detail);
  if (json === undefined) throw new TypeError('The detail has no JSON form');
  return json;
}
