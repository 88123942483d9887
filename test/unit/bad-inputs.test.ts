/**
 * A table of named bad inputs, each with the status and error text the ingest handler answers, and
 * proof that nothing was stored as an event nor enqueued. Signed-but-invalid bodies are kept as
 * rejected records (okePay does not resend a 4xx); unsigned ones leave no trace.
 */
import { describe, expect, it } from 'vitest';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ingestHarness } from '../helpers/ingest-harness.ts';
import { ipnJson, NOW_SECONDS, RawNumber, sign } from '../helpers/ipn.ts';

interface BadInput {
  name: string;
  body: Buffer | string;
  /** Signed with the test secret unless headers say otherwise. */
  headers?: Record<string, string>;
  base64?: boolean;
  status: number;
  /** Text the JSON answer must contain. */
  text: string;
  /** Whether the signed body is kept as a rejected record. */
  rejectedRecord: boolean;
  /** Put `body` in the event as is, flagged base64 (to send base64 that is not valid). */
  asIsBase64?: boolean;
}

const signed = (body: Buffer | string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'x-okepay-signature': sign(body),
  ...extra,
});
const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ipnJson())]);
const latin1 = Buffer.from(ipnJson({ order_ref: 'ORDER-Ä' }), 'latin1');
const oversize = ipnJson({ padding: 'x'.repeat(256 * 1024) });

const cases: BadInput[] = [
  {
    name: 'invalid JSON',
    body: '{"event":"payment.succeeded",',
    status: 400,
    text: 'body is not valid JSON',
    rejectedRecord: true,
  },
  { name: 'an empty body', body: '', status: 400, text: 'body is not valid JSON', rejectedRecord: true },
  {
    name: 'a JSON array',
    body: '[1,2]',
    status: 400,
    text: 'body must be a JSON object',
    rejectedRecord: true,
  },
  { name: 'a UTF-8 byte order mark', body: bom, status: 400, text: 'byte order mark', rejectedRecord: true },
  {
    name: 'non-UTF-8 bytes (Latin-1)',
    body: latin1,
    base64: true,
    status: 400,
    text: 'not valid UTF-8',
    rejectedRecord: true,
  },
  {
    name: 'duplicate keys with different values',
    body: '{"amount":1,"amount":2}',
    status: 400,
    text: 'Duplicate key',
    rejectedRecord: true,
  },
  {
    name: 'amount as a boolean',
    body: ipnJson({ amount: true }),
    status: 400,
    text: '"path":"amount"',
    rejectedRecord: true,
  },
  {
    name: 'payment_id as a number',
    body: ipnJson({ payment_id: 42 }),
    status: 400,
    text: '"path":"payment_id"',
    rejectedRecord: true,
  },
  {
    name: 'order_ref as an object',
    body: ipnJson({ order_ref: { id: 1 } }),
    status: 400,
    text: '"path":"order_ref"',
    rejectedRecord: true,
  },
  {
    name: 'a negative amount',
    body: ipnJson({ amount: new RawNumber('-10.00') }),
    status: 400,
    text: 'must not be negative',
    rejectedRecord: true,
  },
  {
    name: 'a huge amount',
    body: ipnJson({ amount: new RawNumber('1'.repeat(40)) }),
    status: 400,
    text: 'at most 12 integer digits',
    rejectedRecord: true,
  },
  {
    name: 'an amount in exponent form',
    body: ipnJson({ amount: new RawNumber('1.299e2') }),
    status: 400,
    text: 'no exponent',
    rejectedRecord: true,
  },
  {
    name: '3 decimals in EUR',
    body: ipnJson({ amount: new RawNumber('129.901') }),
    status: 400,
    text: 'EUR allows at most 2 decimal digits',
    rejectedRecord: true,
  },
  {
    name: 'decimals in JPY',
    body: ipnJson({ currency: 'JPY', amount: new RawNumber('100.5') }),
    status: 400,
    text: 'JPY allows at most 0 decimal digits',
    rejectedRecord: true,
  },
  {
    name: 'an unknown currency',
    body: ipnJson({ currency: 'ABC' }),
    status: 400,
    text: 'not an ISO 4217 payment currency',
    rejectedRecord: true,
  },
  {
    name: 'a lower-case currency',
    body: ipnJson({ currency: 'eur' }),
    status: 400,
    text: 'upper-case ISO 4217',
    rejectedRecord: true,
  },
  {
    name: 'an empty payment_id',
    body: ipnJson({ payment_id: '' }),
    status: 400,
    text: 'must not be empty',
    rejectedRecord: true,
  },
  {
    name: 'an empty order_ref',
    body: ipnJson({ order_ref: '' }),
    status: 400,
    text: 'must not be empty',
    rejectedRecord: true,
  },
  {
    name: 'an overlong order_ref (128)',
    body: ipnJson({ order_ref: 'R'.repeat(128) }),
    status: 400,
    text: 'at most 127 characters',
    rejectedRecord: true,
  },
  {
    name: 'a missing event',
    body: ipnJson({ event: undefined }),
    status: 400,
    text: '"path":"event"',
    rejectedRecord: true,
  },
  {
    name: 'an event outside payment.*',
    body: ipnJson({ event: 'invoice.paid' }),
    status: 400,
    text: 'payment.* event name',
    rejectedRecord: true,
  },
  {
    name: 'a missing occurred_at',
    body: ipnJson({ occurred_at: undefined }),
    status: 400,
    text: '"path":"occurred_at"',
    rejectedRecord: true,
  },
  {
    name: 'occurred_at not ISO 8601',
    body: ipnJson({ occurred_at: '22-02-2017 10:33' }),
    status: 400,
    text: 'ISO 8601',
    rejectedRecord: true,
  },
  {
    name: 'attempts with a string n',
    body: ipnJson({ attempts: [{ n: 'one', acquirer: 'A', result: 'approved' }] }),
    status: 400,
    text: 'attempts[0].n',
    rejectedRecord: true,
  },
  {
    name: 'a body over 256 KiB',
    body: oversize,
    status: 413,
    text: 'at most 262144 bytes',
    rejectedRecord: false,
  },
  {
    name: 'a text/plain content type',
    body: ipnJson(),
    headers: signed(ipnJson(), { 'content-type': 'text/plain' }),
    status: 415,
    text: 'must be application/json',
    rejectedRecord: true,
  },
  {
    name: 'a form content type',
    body: ipnJson(),
    headers: signed(ipnJson(), { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 415,
    text: 'must be application/json',
    rejectedRecord: true,
  },
  {
    name: 'a base64 flag on invalid base64',
    body: 'not*base64',
    headers: signed('x'),
    asIsBase64: true,
    status: 400,
    text: 'not valid base64',
    rejectedRecord: false,
  },
  {
    name: 'no signature header',
    body: ipnJson(),
    headers: { 'content-type': 'application/json' },
    status: 401,
    text: 'missing_signature',
    rejectedRecord: false,
  },
  {
    name: 'a signature without timestamp',
    body: ipnJson(),
    headers: { 'x-okepay-signature': `v1=${'a'.repeat(64)}` },
    status: 401,
    text: 'malformed_signature',
    rejectedRecord: false,
  },
  {
    name: 'a signature over another body',
    body: ipnJson({ amount: new RawNumber('1.00') }),
    headers: signed(ipnJson()),
    status: 401,
    text: 'no_matching_signature',
    rejectedRecord: false,
  },
  {
    name: 'a signature 10 minutes old',
    body: ipnJson(),
    headers: { 'x-okepay-signature': sign(ipnJson(), { timestamp: NOW_SECONDS - 600 }) },
    status: 401,
    text: 'timestamp_outside_tolerance',
    rejectedRecord: false,
  },
  {
    name: 'a signature under another secret',
    body: ipnJson(),
    headers: { 'x-okepay-signature': sign(ipnJson(), { secret: 'whsec_attacker' }) },
    status: 401,
    text: 'no_matching_signature',
    rejectedRecord: false,
  },
  {
    name: 'a truncated signature',
    body: ipnJson(),
    headers: { 'x-okepay-signature': sign(ipnJson()).slice(0, -2) },
    status: 401,
    text: 'no_matching_signature',
    rejectedRecord: false,
  },
];

describe('bad inputs', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)(
    '$name → $status',
    async ({ body, headers, base64, status, text, rejectedRecord, asIsBase64 }) => {
      const harness = ingestHarness();

      const response = asIsBase64
        ? await harness.postEvent({
            ...httpApiEvent('', headers ?? {}),
            body: body.toString(),
            isBase64Encoded: true,
          })
        : await harness.post(body, headers ?? signed(body), base64);

      expect(response.status).toBe(status);
      expect(JSON.stringify(response.body)).toContain(text);
      expect(harness.queue.messages).toEqual([]);
      expect(harness.store.items.size).toBe(0);
      expect(harness.store.rejected.size).toBe(rejectedRecord ? 1 : 0);
    },
  );
});
