/** A stored event as ingest would have written it, for tests that fill the table directly. */
import { createHash } from 'node:crypto';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { ipnJson } from './ipn.ts';

export interface StoredEventFields {
  paymentId: string;
  event?: string;
  orderRef: string;
  receivedAt: string;
  status?: StoredEvent['status'];
}

/** Its body is a valid IPN of those fields; published at its receipt unless a status is given. */
export function storedEventOf(fields: StoredEventFields): StoredEvent {
  const event = fields.event ?? 'payment.succeeded';
  const status = fields.status ?? 'published';
  const body = Buffer.from(ipnJson({ payment_id: fields.paymentId, event, order_ref: fields.orderRef }));
  return {
    paymentId: fields.paymentId,
    event,
    orderRef: fields.orderRef,
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: Math.floor(Date.parse(fields.receivedAt) / 1000),
    receivedAt: fields.receivedAt,
    occurredAt: fields.receivedAt,
    status,
    ...(status === 'published' ? { publishedAt: fields.receivedAt } : {}),
    revision: 1,
    conflictCount: 0,
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
  };
}
