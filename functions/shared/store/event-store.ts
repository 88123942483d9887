/**
 * The dedup store and the record of every IPN accepted: one item per payment id and event type, plus
 * one per later revision of it (a body with the same key but different content), the rejected bodies
 * and the dedup markers. `table-design.ts` lays them out in DynamoDB.
 */
import type { OrderingFact } from '../canonical/ordering.ts';

/**
 * - `received`: stored, to be published (the queue or the sweeper brings it to the consumer);
 * - `published`: on the bus;
 * - `held`: a revision kept for an operator to release (→ `received`) or discard;
 * - `discarded`: a revision an operator chose not to publish; kept as the record.
 */
export const STORED_EVENT_STATUSES = ['received', 'published', 'held', 'discarded'] as const;
export type StoredEventStatus = (typeof STORED_EVENT_STATUSES)[number];

export interface EventKey {
  paymentId: string;
  event: string;
  /**
   * Set on revisions 2 and later only: the content hash (`contentSha256`) of the revision's body.
   * Absent on the first copy received under `paymentId` + `event`.
   */
  revisionHash?: string;
}

export interface StoredEvent extends EventKey {
  orderRef: string;
  /** The exact bytes okePay sent; the signature was verified over these. */
  body: Buffer;
  bodySha256: string;
  /** The hash of what the body says (`content-hash.ts`); absent on items stored before it was kept. */
  contentSha256?: string;
  /** The `t` of the signature header, unix seconds. */
  signatureTimestamp: number;
  /** ISO 8601 UTC, when the ingest function accepted it. */
  receivedAt: string;
  /** The payload's `occurred_at`, as sent. */
  occurredAt: string;
  status: StoredEventStatus;
  publishedAt?: string;
  /** EventBridge's id of the publish that marked it (live publishes only, not replays). */
  busEventId?: string;
  /**
   * 1 for the first copy under `paymentId` + `event`; 2, 3... for later bodies with different content,
   * in the order they arrived. A number can be skipped when a delivery fails halfway; the `eventId`
   * never depends on it.
   */
  revision: number;
  /** On the first copy: how many revision numbers were handed out under its key. */
  conflictCount: number;
  /** Set when the body was first refused by validation and reprocessed later: `REJECTED#<sha256>`. */
  reprocessedFrom?: string;
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
  /** `payment_id` and `event` as far as the refused body could be read, to find it by payment. */
  paymentIdHint?: string;
  eventHint?: string;
}

/** A rejected IPN as stored: waiting, or reprocessed into a stored event. */
export interface StoredRejectedIpn extends RejectedIpn {
  status: 'rejected' | 'reprocessed';
  reprocessedAt?: string;
  /** The stored event it became. */
  reprocessedAs?: EventKey;
}

export type PutIfAbsentResult = { created: true } | { created: false; existing: StoredEvent };

/** A stored item that exists but cannot be read as a stored event (altered or half-written by hand). */
export interface UnreadableItem {
  key: EventKey;
  error: Error;
}

/**
 * The dedup marker of one body content: it outlives the stored body (`expiresAt` much later than
 * `bodyExpiresAt`), so the same content sent again after the body expired is still a duplicate.
 */
export interface DedupMarker extends EventKey {
  contentSha256: string;
  /** Epoch seconds: when the stored body of this content expires. */
  bodyExpiresAt: number;
  /** Epoch seconds: when the marker itself expires (TTL). */
  expiresAt: number;
  /** This delivery: when it was received, and its signature timestamp minus that time, in seconds. */
  deliveredAt: string;
  signatureSkewSeconds: number;
}

/** A dedup marker as stored: how often its content was delivered, when first and last. */
export interface StoredDedupMarker extends EventKey {
  contentSha256: string;
  bodyExpiresAt: number;
  deliveryCount: number;
  firstDeliveredAt?: string;
  lastDeliveredAt?: string;
  lastSignatureSkewSeconds?: number;
}

/** Everything the table holds under one payment id, for its timeline. */
export interface PaymentRecord {
  /** First copies and revisions, with their bodies. */
  events: (StoredEvent & PublishHistory)[];
  markers: StoredDedupMarker[];
}

/** What the stored item says of its way to the bus besides its status. */
export interface PublishHistory {
  statusChangedAt?: string;
  sweptAt?: string;
  sweepCount?: number;
  failureCount?: number;
  lastFailureAt?: string;
  lastFailureReason?: string;
}

/** What the marker said about a body content: never seen, seen and stored, or seen and expired. */
export type SeenResult = 'new' | 'stored' | 'expired';

export interface EventStore {
  /** Writes the event unless an item with its key exists; then returns that item instead. */
  putIfAbsent(event: StoredEvent): Promise<PutIfAbsentResult>;
  /** A consistent read of one stored event, or undefined. */
  get(key: EventKey): Promise<StoredEvent | undefined>;
  /**
   * Hands out the next revision number under the first copy's key (2 for the first revision) and
   * records when; throws StoredEventNotFoundError when the first copy does not exist.
   */
  claimRevisionNumber(key: EventKey, at: string): Promise<number>;
  /**
   * Records a body content as seen (idempotent) unless its marker says the stored body already
   * expired: then nothing is written and the answer is `expired`.
   */
  rememberSeen(marker: DedupMarker, nowSeconds: number): Promise<SeenResult>;
  /** Keeps a signed but invalid body (idempotent on the body's hash). */
  recordRejected(rejected: RejectedIpn): Promise<void>;
  /** Strongly consistent reads of several items; missing keys are absent from the result. */
  getMany(keys: readonly EventKey[]): Promise<StoredEvent[]>;
  /** As getMany, but items that exist and cannot be read are returned apart instead of dropped. */
  readMany(keys: readonly EventKey[]): Promise<{ events: StoredEvent[]; unreadable: UnreadableItem[] }>;
  /**
   * Marks an item published. Returns false when it was already published (another delivery got
   * there first); throws when the item does not exist.
   */
  markPublished(key: EventKey, at: string, busEventId?: string): Promise<boolean>;
  /** Notes a failed publish attempt on an item still unpublished (for the timeline); best effort. */
  recordPublishFailure(key: EventKey, at: string, reason: string): Promise<void>;
  /** The first copies, revisions and dedup markers of one payment (consistent). */
  paymentRecord(paymentId: string): Promise<PaymentRecord>;
  /**
   * For each payment, what ordering needs of its stored events (no bodies): one consistent Query per
   * payment, with a projection.
   */
  orderingFacts(paymentIds: readonly string[]): Promise<Map<string, OrderingFact[]>>;
}

export const eventKeyId = (key: EventKey) =>
  `${key.paymentId}/${key.event}${key.revisionHash ? `#${key.revisionHash}` : ''}`;

export const keyOf = (key: EventKey): EventKey =>
  key.revisionHash
    ? { paymentId: key.paymentId, event: key.event, revisionHash: key.revisionHash }
    : { paymentId: key.paymentId, event: key.event };
