/** The dedup store and the record of every IPN accepted: one item per payment id and event type. */

export type StoredEventStatus = 'received' | 'published';

export interface EventKey {
  paymentId: string;
  event: string;
}

export interface StoredEvent extends EventKey {
  orderRef: string;
  /** The exact bytes okePay sent; the signature was verified over these. */
  body: Buffer;
  bodySha256: string;
  /** The `t` of the signature header, unix seconds. */
  signatureTimestamp: number;
  /** ISO 8601 UTC, when the ingest function accepted it. */
  receivedAt: string;
  /** The payload's `occurred_at`, as sent. */
  occurredAt: string;
  status: StoredEventStatus;
  publishedAt?: string;
  /** How many later copies under the same key had a different body (the first copy is kept). */
  conflictCount: number;
  /** Epoch seconds after which DynamoDB's TTL may delete the item. */
  expiresAt: number;
}

/** A signed body that failed validation, kept so that nothing okePay sent is lost. */
export interface RejectedIpn {
  body: Buffer;
  bodySha256: string;
  signatureTimestamp: number;
  receivedAt: string;
  /** The HTTP status it was answered with (400, 415). */
  httpStatus: number;
  issues: { path: string; message: string }[];
  expiresAt: number;
}

export type PutIfAbsentResult = { created: true } | { created: false; existing: StoredEvent };

export interface EventStore {
  /** Writes the event unless an item with its key exists; then returns that item instead. */
  putIfAbsent(event: StoredEvent): Promise<PutIfAbsentResult>;
  /** Counts a copy whose body differs from the stored one; the stored copy is not changed. */
  recordConflict(key: EventKey, bodySha256: string, at: string): Promise<void>;
  /** Keeps a signed but invalid body (idempotent on the body's hash). */
  recordRejected(rejected: RejectedIpn): Promise<void>;
  /** Strongly consistent reads of several items; missing keys are absent from the result. */
  getMany(keys: readonly EventKey[]): Promise<StoredEvent[]>;
  /**
   * Marks an item published. Returns false when it was already published (another delivery got
   * there first); throws when the item does not exist.
   */
  markPublished(key: EventKey, at: string): Promise<boolean>;
}

export const eventKeyId = (key: EventKey) => `${key.paymentId}/${key.event}`;
