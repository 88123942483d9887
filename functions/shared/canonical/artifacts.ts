/**
 * The generated files under `events/`: the JSON Schema of the canonical event (from the zod schema)
 * and one sample envelope per sample IPN. `bin/generate-event-artifacts.ts` writes them; a test checks
 * the committed files are what this module generates, so they cannot drift from the code.
 */
import { createHash } from 'node:crypto';
import { stringify as stringifyLosslessJson } from 'lossless-json';
import { v5 as uuidv5 } from 'uuid';
import * as z from 'zod';
import { parseIpnBody } from '../ipn/payload.ts';
import type { StoredEvent } from '../store/event-store.ts';
import { DEFAULT_EVENT_SOURCE } from './constants.ts';
import { toCanonicalEvent } from './normalise.ts';
import { orderingOf } from './ordering.ts';
import { type PaymentEventEnvelope, paymentEventEnvelopeSchema } from './payment-event.ts';

export const SCHEMA_FILE_NAME = 'okepay-payment-event.schema.json';
const SAMPLE_ID_NAMESPACE = 'b3c1e9a4-5f2d-4e8a-8c17-0d6a2f9e3b55';

/**
 * JSON Schema draft-04 of the envelope a subscriber receives: the draft the EventBridge schema
 * registry accepts (`JSONSchemaDraft4`), and one every validator reads.
 */
export function paymentEventJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(paymentEventEnvelopeSchema, { target: 'draft-04', io: 'output' }),
    title: 'OkePayPaymentEvent',
  };
}

/**
 * The sample file's text (`events/samples/<name>.json`): the envelope a subscriber receives for the IPN
 * `body`, received 8 s after it occurred, with the numbers of `detail.raw` as okePay wrote them.
 */
export function sampleEnvelopeJson(name: string, body: Buffer): string {
  return `${stringifyLosslessJson(exactSampleEnvelope(name, body), null, 2)}\n`;
}

/**
 * The sample envelope as JSON.parse reads it (numbers as JS numbers: `129.90` in raw is 129.9), to
 * compare with what a target received.
 */
export function sampleEnvelope(name: string, body: Buffer): PaymentEventEnvelope {
  return JSON.parse(sampleEnvelopeJson(name, body)) as PaymentEventEnvelope;
}

/** `detail.raw` holds LosslessNumber values here; write it with lossless-json. */
function exactSampleEnvelope(name: string, body: Buffer): PaymentEventEnvelope {
  const payload = parseIpnBody(body);
  const receivedAt = new Date(Date.parse(payload.occurred_at) + 8_000).toISOString();
  const stored: StoredEvent = {
    paymentId: payload.payment_id,
    event: payload.event,
    orderRef: payload.order_ref,
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: Math.floor(Date.parse(receivedAt) / 1000),
    receivedAt,
    occurredAt: payload.occurred_at,
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
  // A sample is the only event of its payment: in order, and its own latest.
  const ordering = orderingOf(stored, []);
  const { detail, entry } = toCanonicalEvent(stored, { source: DEFAULT_EVENT_SOURCE, ordering });
  return {
    version: '0',
    id: uuidv5(name, SAMPLE_ID_NAMESPACE),
    'detail-type': entry.detailType,
    source: entry.source,
    account: '123456789012',
    time: entry.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}
