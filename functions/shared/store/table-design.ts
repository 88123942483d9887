/**
 * The events table's key design, shared by the DynamoDB adapter and the CDK table so the two cannot
 * drift apart.
 *
 * - Primary key: `pk = PAYMENT#<payment_id>`, `sk = EVENT#<event>`. One item per payment and event
 *   type is the dedup rule; a Query on `pk` returns a payment's whole history (replay by payment).
 * - `byOrderRef` index: `orderRefKey = ORDER#<order_ref>`, sorted by `receivedKey` (replay by order).
 * - `byReceivedDay` index: `receivedDay = DAY#<yyyy-mm-dd>` (UTC), sorted by `receivedKey`
 *   (`<receivedAt ISO>#<pk>#<sk>`), so a time window is one Query per day it spans.
 * - Signed bodies that failed validation are kept too, as `pk = REJECTED#<sha256>`, `sk = REJECTED`,
 *   in the day index only.
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
export const receivedDayKey = (receivedAt: string) => `DAY#${receivedAt.slice(0, 10)}`;
export const rejectedKey = (bodySha256: string) => `REJECTED#${bodySha256}`;
