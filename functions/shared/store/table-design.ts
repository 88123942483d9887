/**
 * The events table's key design, shared by the DynamoDB adapter and the CDK table so the two cannot
 * drift apart.
 *
 * - Primary key: `pk = PAYMENT#<payment_id>`, `sk = EVENT#<event>`. One item per payment and event
 *   type is the dedup rule; a Query on `pk` returns a payment's whole history (replay by payment).
 * - `byOrderRef` index: `orderRefKey = ORDER#<order_ref>`, sorted by `receivedKey` (replay by order).
 * - `byReceivedDay` index: `receivedDay = DAY#<yyyy-mm-dd>#<shard 0..31>` (UTC day, and a stable hash
 *   of the item's keys), sorted by `receivedKey` (`<receivedAt ISO>#<pk>#<sk>`). A whole day in one
 *   index partition would cap every ingest write near the 1,000 writes/s a partition takes (a
 *   throttled index throttles the table); 32 shards spread it. A time window is one Query per day and
 *   shard (plus the day's unsharded key, which items written before the shards carry), merged by
 *   `receivedKey`, so it stays exact and ordered.
 * - Signed bodies that failed validation are kept too, as `pk = REJECTED#<sha256>`, `sk = REJECTED`,
 *   in the day index only.
 * - Revisions: a body with a known `payment_id` + `event` but different content is kept whole as
 *   `sk = EVENT#<event>#REV#<content sha256>` in the same partition; the first copy keeps
 *   `sk = EVENT#<event>` and counts the revision numbers it handed out (`revisionCount`).
 * - Dedup markers: `sk = SEEN#<event>#<content sha256>`, a few attributes kept much longer than the body
 *   (`dedupRetentionDays`), so a captured request sent again after the body expired is still a duplicate.
 * - `byState` index (sparse): `stateKey` is set only while an item needs something to happen to it:
 *   `PENDING#<0..31>` while stored and not yet published (sharded so ingest never writes one hot
 *   partition), `HELD` for a revision waiting for an operator, `REJECTED` for a signed body that failed
 *   validation and was not reprocessed. The sweeper, the alarms' gauges and the CLI lists read it.
 * - `expiresAt` (epoch seconds) is the TTL attribute.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const TTL_ATTRIBUTE = 'expiresAt';

export const ORDER_REF_INDEX = {
  name: 'byOrderRef',
  partitionKey: 'orderRefKey',
  sortKey: 'receivedKey',
} as const;
export const RECEIVED_DAY_INDEX = {
  name: 'byReceivedDay',
  partitionKey: 'receivedDay',
  sortKey: 'receivedKey',
} as const;
export const STATE_INDEX = {
  name: 'byState',
  partitionKey: 'stateKey',
  sortKey: 'receivedKey',
} as const;
/** What the state index carries: enough to enqueue, list and count without reading the bodies. */
export const STATE_INDEX_PROJECTED_ATTRIBUTES = [
  'paymentId',
  'event',
  'orderRef',
  'status',
  'receivedAt',
  'bodySha256',
  'revision',
  'revisionHash',
  'httpStatus',
  'issues',
  'sweptAt',
  'sweepCount',
  'paymentIdHint',
] as const;
/** Partitions of the pending state: each DynamoDB partition takes about 1,000 writes/s. */
export const PENDING_SHARDS = 32;

/** Attributes the indexes carry besides the keys: enough to filter and list without the body. */
export const INDEX_PROJECTED_ATTRIBUTES = [
  'paymentId',
  'event',
  'orderRef',
  'status',
  'receivedAt',
  'occurredAt',
] as const;

export const paymentKey = (paymentId: string) => `PAYMENT#${paymentId}`;
export const eventKey = (event: string) => `EVENT#${event}`;
export const orderRefKey = (orderRef: string) => `ORDER#${orderRef}`;
/** Shards of one day of the `byReceivedDay` index; each index partition takes about 1,000 writes/s. */
export const RECEIVED_DAY_SHARDS = 32;

/** A stable hash of an item's keys onto `0..buckets-1`. */
function shardOf(pk: string, sk: string, buckets: number): number {
  let hash = 0;
  for (const char of `${pk}#${sk}`) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % buckets;
}

/** The unsharded key of a day: items stored before the index was sharded carry it. */
export const legacyReceivedDayKey = (receivedAt: string) => `DAY#${receivedAt.slice(0, 10)}`;
/** The `byReceivedDay` partition of an item. */
export const receivedDayKey = (receivedAt: string, pk: string, sk: string) =>
  `DAY#${receivedAt.slice(0, 10)}#${shardOf(pk, sk, RECEIVED_DAY_SHARDS)}`;
/** Every partition of one day (`yyyy-mm-dd`), the unsharded one included, for a Query of that day. */
export const receivedDayKeys = (day: string) => [
  legacyReceivedDayKey(day),
  ...Array.from({ length: RECEIVED_DAY_SHARDS }, (_, n) => `DAY#${day.slice(0, 10)}#${n}`),
];
export const rejectedKey = (bodySha256: string) => `REJECTED#${bodySha256}`;
export const REJECTED_SORT_KEY = 'REJECTED';
export const revisionKey = (event: string, revisionHash: string) => `EVENT#${event}#REV#${revisionHash}`;
export const seenKey = (event: string, contentSha256: string) => `SEEN#${event}#${contentSha256}`;

export const HELD_STATE = 'HELD';
export const REJECTED_STATE = 'REJECTED';
/** The pending shard of an item: a stable hash of its keys, so the same item always lands alike. */
export function pendingStateKey(pk: string, sk: string): string {
  return `PENDING#${shardOf(pk, sk, PENDING_SHARDS)}`;
}
export const pendingStateKeys = () => Array.from({ length: PENDING_SHARDS }, (_, n) => `PENDING#${n}`);
