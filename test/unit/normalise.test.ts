import { createHash } from 'node:crypto';
import {
  LosslessNumber,
  parse as parseLosslessJson,
  stringify as stringifyLosslessJson,
} from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { entrySize, MAX_PUT_EVENTS_BYTES } from '../../functions/shared/bus/event-bus.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { toCanonicalEvent } from '../../functions/shared/canonical/normalise.ts';
import { paymentEventDetailSchema } from '../../functions/shared/canonical/payment-event.ts';
import { statusFor } from '../../functions/shared/canonical/status.ts';
import {
  MAX_ACQUIRER_LENGTH,
  MAX_ATTEMPT_CODE_LENGTH,
  MAX_ATTEMPT_NUMBER,
  MAX_ATTEMPT_RESULT_LENGTH,
  MAX_ATTEMPTS,
  MAX_EVENT_NAME_LENGTH,
  MAX_ORDER_REF_LENGTH,
  MAX_PAYMENT_ID_LENGTH,
  parseIpnBody,
} from '../../functions/shared/ipn/payload.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { ipnJson, RawNumber } from '../helpers/ipn.ts';

function stored(body: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const bytes = Buffer.from(body);
  const payload = JSON.parse(body) as { payment_id: string; event: string; order_ref: string };
  return {
    paymentId: payload.payment_id,
    event: payload.event,
    orderRef: payload.order_ref,
    body: bytes,
    bodySha256: createHash('sha256').update(bytes).digest('hex'),
    signatureTimestamp: 1_778_417_220,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
    ...overrides,
  };
}

const normalise = (fields: Parameters<typeof ipnJson>[0] = {}) =>
  toCanonicalEvent(stored(ipnJson(fields)), { source: 'okepay' });

describe('toCanonicalEvent', () => {
  it('builds the PutEvents entry: source, detail-type = event name, time = occurred_at', () => {
    const { entry, detail } = normalise({ occurred_at: '2026-05-10T14:46:52+02:00' });
    expect(entry.source).toBe('okepay');
    expect(entry.detailType).toBe('payment.succeeded');
    expect(entry.time.toISOString()).toBe('2026-05-10T12:46:52.000Z');
    expect(entry.detail).toBe(stringifyLosslessJson(detail));
  });

  it('uses a configured source', () => {
    expect(toCanonicalEvent(stored(ipnJson()), { source: 'payments.okepay' }).entry.source).toBe(
      'payments.okepay',
    );
  });

  it('fills every field of the detail, matching the schema', () => {
    const { detail } = normalise({ payment_id: 'pay_42', order_ref: 'ORDER-42' });
    expect(paymentEventDetailSchema.parse(detail)).toEqual(detail);
    expect(detail).toEqual({
      schemaVersion: '1',
      eventId: eventIdFor('pay_42', 'payment.succeeded'),
      revision: 1,
      type: 'payment.succeeded',
      paymentId: 'pay_42',
      orderRef: 'ORDER-42',
      amount: { decimal: '129.90', minorUnits: 12990, number: 129.9, minorUnitDigits: 2 },
      currency: 'EUR',
      status: 'Completed',
      occurredAt: '2026-05-10T12:46:52.000Z',
      receivedAt: '2026-05-10T12:47:00.000Z',
      raw: parseLosslessJson(ipnJson({ payment_id: 'pay_42', order_ref: 'ORDER-42' })),
    });
    expect(detail).not.toHaveProperty('replay');
  });

  it.each([
    ['EUR', '129.9', '129.90', 12990, 129.9, 2],
    ['EUR', '129', '129.00', 12900, 129, 2],
    ['EUR', '0.05', '0.05', 5, 0.05, 2],
    ['USD', '1000.00', '1000.00', 100000, 1000, 2],
    ['JPY', '5400', '5400', 5400, 5400, 0],
    ['KWD', '12.345', '12.345', 12345, 12.345, 3],
    ['KWD', '12.3', '12.300', 12300, 12.3, 3],
    ['BHD', '0.001', '0.001', 1, 0.001, 3],
    ['CLF', '1.2345', '1.2345', 12345, 1.2345, 4],
    ['EUR', '999999999999.99', '999999999999.99', 99999999999999, 999999999999.99, 2],
    ['JPY', '5400.00', '5400', 5400, 5400, 0],
    ['EUR', '129.900', '129.90', 12990, 129.9, 2],
    ['XCG', '129.90', '129.90', 12990, 129.9, 2],
    ['IQD', '1500.125', '1500.125', 1500125, 1500.125, 3],
    ['UYW', '1000.5', '1000.5000', 10005000, 1000.5, 4],
    ['CLF', '99999999999.9999', '99999999999.9999', 999999999999999, 99999999999.9999, 4],
  ])(
    'writes %s %s as "%s", %i minor units and the number %d',
    (currency, sent, decimal, minorUnits, number, digits) => {
      expect(normalise({ currency, amount: new RawNumber(sent) }).detail.amount).toEqual({
        decimal,
        minorUnits,
        number,
        minorUnitDigits: digits,
      });
    },
  );

  it.each([
    ['payment.pending', 'Pending', undefined],
    ['payment.succeeded', 'Completed', undefined],
    ['payment.failed', 'Error', undefined],
    ['payment.refunded', 'Reversed', 'refund'],
    ['payment.chargeback', 'Reversed', 'chargeback'],
    ['payment.authorized', 'None', undefined],
  ])('maps %s to the OKPAY status %s', (event, status, statusReason) => {
    expect(statusFor(event)).toEqual(statusReason ? { status, statusReason } : { status });
    const { detail, entry } = normalise({ event });
    expect(detail).toMatchObject({ type: event, status });
    expect(entry.detailType).toBe(event);
  });

  it('types the cascade and names the acquirer that approved', () => {
    const { detail } = normalise({
      attempts: [
        { n: 1, acquirer: 'ACQ-EU-1', result: 'soft_decline', code: '05' },
        { n: 2, acquirer: 'ACQ-EU-2', result: 'soft_decline', code: new RawNumber('51') },
        { n: 3, acquirer: 'ACQ-APM-DE', result: 'approved' },
      ],
    });
    expect(detail.cascade).toEqual({
      attempts: [
        { n: 1, acquirer: 'ACQ-EU-1', result: 'soft_decline', code: '05' },
        { n: 2, acquirer: 'ACQ-EU-2', result: 'soft_decline', code: '51' },
        { n: 3, acquirer: 'ACQ-APM-DE', result: 'approved' },
      ],
      approvedBy: 'ACQ-APM-DE',
    });
  });

  it('leaves approvedBy out when no attempt was approved', () => {
    const { detail } = normalise({ attempts: [{ n: 1, acquirer: 'A', result: 'hard_decline' }] });
    expect(detail.cascade).toEqual({ attempts: [{ n: 1, acquirer: 'A', result: 'hard_decline' }] });
  });

  it('keeps fields the schema does not model under raw', () => {
    const { detail } = normalise({ customer: { country: 'DE' }, metadata: { channel: 'vPOS' } });
    expect(detail.raw).toMatchObject({ customer: { country: 'DE' }, metadata: { channel: 'vPOS' } });
  });

  it('adds the replay marker only when replaying, with the same eventId', () => {
    const live = normalise();
    const replayed = toCanonicalEvent(stored(ipnJson()), {
      source: 'okepay',
      replay: { replayId: 'rpl_1', requestedAt: '2026-06-01T00:00:00.000Z' },
    });
    expect(replayed.detail.replay).toEqual({ replayId: 'rpl_1', requestedAt: '2026-06-01T00:00:00.000Z' });
    expect(replayed.detail.eventId).toBe(live.detail.eventId);
    expect({ ...replayed.detail, replay: undefined }).toEqual({ ...live.detail, replay: undefined });
  });

  it('carries every number of the payload into raw with the digits okePay sent', () => {
    const numbers = {
      transaction_id: '9994456683762355345868',
      fee: '0.1000000000000000000001',
      net: '129.90',
      tiny: '1E-400',
      huge: '1e400',
      negative_zero: '-0',
    };
    const { detail, entry } = normalise({
      ...Object.fromEntries(Object.entries(numbers).map(([key, text]) => [key, new RawNumber(text)])),
      nested: {
        list: [new RawNumber('12345678901234567890.10'), { deep: new RawNumber('3.14159265358979323846') }],
      },
    });
    for (const [key, text] of Object.entries(numbers)) {
      expect(entry.detail).toContain(`"${key}":${text}`);
      expect(detail.raw?.[key]).toEqual(new LosslessNumber(text));
    }
    expect(entry.detail).toContain(
      '"nested":{"list":[12345678901234567890.10,{"deep":3.14159265358979323846}]}',
    );
    expect(entry.detail).toContain('"amount":129.90,');
  });

  it('leaves raw out of an event that would exceed the PutEvents size limit', () => {
    const { detail, entry } = normalise({ padding: 'x'.repeat(256 * 1024 - 300) });
    expect(detail.raw).toBeNull();
    expect(detail.rawOmitted).toBe('too_large');
    expect(Buffer.byteLength(entry.detail)).toBeLessThan(2048);
  });

  it('fits in one PutEvents entry at the worst case the payload schema allows, once raw is left out', () => {
    // Every copied field at its longest, in the characters JSON writes longest: a control character is
    // the 6-byte escape \u0001 (order_ref refuses them; '€' is its longest at 3 bytes).
    const longest = (length: number) => '\u0001'.repeat(length);
    const attempts = Array.from({ length: MAX_ATTEMPTS }, (_, index) => ({
      n: MAX_ATTEMPT_NUMBER,
      acquirer: longest(MAX_ACQUIRER_LENGTH),
      result: index === 0 ? 'approved' : longest(MAX_ATTEMPT_RESULT_LENGTH),
      code: longest(MAX_ATTEMPT_CODE_LENGTH),
    }));
    const body = ipnJson({
      event: `payment.${'x'.repeat(MAX_EVENT_NAME_LENGTH - 'payment.'.length)}`,
      payment_id: '~'.repeat(MAX_PAYMENT_ID_LENGTH),
      order_ref: '€'.repeat(MAX_ORDER_REF_LENGTH),
      amount: new RawNumber('999999999999.999'),
      currency: 'KWD',
      attempts,
      padding: 'x'.repeat(MAX_PUT_EVENTS_BYTES),
    });
    expect(() => parseIpnBody(Buffer.from(body))).not.toThrow();

    const { detail, entry } = toCanonicalEvent(stored(body, { revision: Number.MAX_SAFE_INTEGER }), {
      source: 's'.repeat(256), // EventBridge's longest Source
      replay: { replayId: 'r'.repeat(64), requestedAt: '2026-06-01T00:00:00.000Z' },
    });

    expect(detail.rawOmitted).toBe('too_large');
    expect(detail.cascade?.attempts).toHaveLength(MAX_ATTEMPTS);
    // Measured: 52,527 bytes, a fifth of the limit.
    expect(entrySize(entry)).toBeLessThan(MAX_PUT_EVENTS_BYTES / 4);
  });

  it('throws for a stored body that is no longer a valid IPN', () => {
    expect(() =>
      toCanonicalEvent(stored('{"event":"payment.succeeded","payment_id":"p","order_ref":"o"}'), {
        source: 'okepay',
      }),
    ).toThrow(/Invalid IPN payload/);
  });
});

describe('eventIdFor', () => {
  it('is stable for a payment id and event, and differs across either', () => {
    expect(eventIdFor('pay_1', 'payment.succeeded')).toBe(eventIdFor('pay_1', 'payment.succeeded'));
    expect(eventIdFor('pay_1', 'payment.succeeded')).not.toBe(eventIdFor('pay_1', 'payment.refunded'));
    expect(eventIdFor('pay_1', 'payment.succeeded')).not.toBe(eventIdFor('pay_2', 'payment.succeeded'));
    expect(eventIdFor('a/b', 'c')).not.toBe(eventIdFor('a', 'b/c'));
    expect(eventIdFor('pay_1', 'payment.succeeded')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
