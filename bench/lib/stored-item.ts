/**
 * A stored-event item as the DynamoDB adapter writes it (functions/shared/store/dynamodb-event-store.ts
 * keeps its mapping private), built from the table design's key functions. Used by the floor server of
 * the ack path, to make the same PutItem, and to seed the table for the replay benchmark.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  eventKey,
  orderRefKey,
  paymentKey,
  receivedDayKey,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from '../../functions/shared/store/table-design.ts';

export interface StoredItemOptions {
  body: Buffer;
  signatureTimestamp: number;
  receivedAt: string;
  status: 'received' | 'published';
}

interface IpnKeyFields {
  payment_id: string;
  event: string;
  order_ref: string;
  occurred_at: string;
}

export function storedItem(options: StoredItemOptions): Record<string, AttributeValue> {
  const ipn = JSON.parse(options.body.toString('utf8')) as IpnKeyFields;
  const pk = paymentKey(ipn.payment_id);
  const sk = eventKey(ipn.event);
  return {
    [TABLE_KEYS.partitionKey]: { S: pk },
    [TABLE_KEYS.sortKey]: { S: sk },
    paymentId: { S: ipn.payment_id },
    event: { S: ipn.event },
    orderRef: { S: ipn.order_ref },
    body: { B: options.body },
    bodySha256: { S: createHash('sha256').update(options.body).digest('hex') },
    signatureTimestamp: { N: String(options.signatureTimestamp) },
    receivedAt: { S: options.receivedAt },
    occurredAt: { S: ipn.occurred_at },
    status: { S: options.status },
    conflictCount: { N: '0' },
    [TTL_ATTRIBUTE]: { N: String(Math.floor(Date.parse(options.receivedAt) / 1000) + 90 * 86_400) },
    orderRefKey: { S: orderRefKey(ipn.order_ref) },
    receivedDay: { S: receivedDayKey(options.receivedAt, pk, sk) },
    receivedKey: { S: `${options.receivedAt}#${pk}#${sk}` },
  };
}
