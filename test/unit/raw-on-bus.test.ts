import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toCanonicalEvent } from '../../functions/shared/canonical/normalise.ts';
import { rawOnBusFromEnv } from '../../functions/shared/canonical/raw-on-bus.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { ipnJson, RawNumber } from '../helpers/ipn.ts';

function stored(): StoredEvent {
  const body = Buffer.from(
    ipnJson({
      customer: { email: 'ana@example.com', ip: '192.0.2.1', country: 'PT' },
      attempts: [
        { n: 1, acquirer: 'ACQ-1', result: 'soft_decline', code: '05' },
        { n: 2, acquirer: 'ACQ-2', result: 'approved' },
      ],
      transaction_id: new RawNumber('9994456683762355345868'),
    }),
  );
  return {
    paymentId: 'pay_test_0001',
    event: 'payment.succeeded',
    orderRef: 'ORDER-1',
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: 0,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
}

describe('what detail.raw carries on the bus', () => {
  it('everything by default, numbers as written', () => {
    const { entry } = toCanonicalEvent(stored(), { source: 'okepay' });
    expect(entry.detail).toContain('"email":"ana@example.com"');
    expect(entry.detail).toContain('"transaction_id":9994456683762355345868');
  });

  it('nothing under mode none: raw is null and says it was withheld', () => {
    const { detail, entry } = toCanonicalEvent(stored(), { source: 'okepay', rawOnBus: { mode: 'none' } });
    expect(detail).toMatchObject({ raw: null, rawOmitted: 'withheld' });
    expect(entry.detail).not.toContain('ana@example.com');
    expect(detail.amount.decimal).toBe('129.90');
  });

  it('everything but the named paths under mode redact, through arrays too, and lists what it removed', () => {
    const { detail, entry } = toCanonicalEvent(stored(), {
      source: 'okepay',
      rawOnBus: { mode: 'redact', paths: ['customer.email', 'customer.ip', 'attempts.code', 'not.there'] },
    });
    expect(detail.rawRedacted).toEqual(['customer.email', 'customer.ip', 'attempts.code']);
    expect(entry.detail).not.toContain('ana@example.com');
    expect(entry.detail).not.toContain('192.0.2.1');
    expect(entry.detail).toContain('"country":"PT"');
    // The canonical cascade keeps its codes: only raw is redacted.
    expect(detail.cascade?.attempts[0]?.code).toBe('05');
    expect(entry.detail).toContain('"transaction_id":9994456683762355345868');
  });
});

describe('rawOnBusFromEnv', () => {
  it.each([
    [{}, { mode: 'all' }],
    [{ OKEPAY_RAW_ON_BUS: 'none' }, { mode: 'none' }],
    [
      { OKEPAY_RAW_ON_BUS: 'redact', OKEPAY_RAW_REDACT_PATHS: '["customer.email"]' },
      { mode: 'redact', paths: ['customer.email'] },
    ],
  ])('reads %o', (env, expected) => {
    expect(rawOnBusFromEnv(env)).toEqual(expected);
  });

  it.each([
    [{ OKEPAY_RAW_ON_BUS: 'some' }, /OKEPAY_RAW_ON_BUS must be one of all, none, redact/],
    [{ OKEPAY_RAW_ON_BUS: 'redact' }, /OKEPAY_RAW_REDACT_PATHS must be a JSON array of dot paths/],
    [{ OKEPAY_RAW_ON_BUS: 'redact', OKEPAY_RAW_REDACT_PATHS: 'customer.email' }, /got "customer.email"/],
    [{ OKEPAY_RAW_ON_BUS: 'redact', OKEPAY_RAW_REDACT_PATHS: '["a..b"]' }, /dot paths/],
  ])('refuses %o', (env, message) => {
    expect(() => rawOnBusFromEnv(env)).toThrow(message);
  });
});
