/**
 * Property-based tests (fast-check) of the way from a valid IPN to the canonical event: random amounts in
 * random currencies (XCG, JPY with OKPAY's two decimals, the 4-digit CLF and UYW), unicode order refs,
 * date-times with offsets up to ±23:59 near both ends of the 4-digit years, cascades at their bounds, and
 * unknown fields full of big integers and long decimals. The properties: the ingest accepts the IPN;
 * its canonical event is valid under the published JSON Schema; every number of the payload reaches
 * `detail.raw` with the digits okePay sent; the amount is exact; the entry fits in one PutEvents entry.
 *
 * Runs per property: FAST_CHECK_RUNS, 10,000 by default (.ci/run sets it explicitly).
 */
import { createHash } from 'node:crypto';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { parse as parseLosslessJson } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { entrySize, MAX_PUT_EVENTS_BYTES } from '../../functions/shared/bus/event-bus.ts';
import { paymentEventJsonSchema } from '../../functions/shared/canonical/artifacts.ts';
import { toCanonicalEvent } from '../../functions/shared/canonical/normalise.ts';
import { currencyMinorUnits } from '../../functions/shared/ipn/currency.ts';
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

const NUM_RUNS = Number(process.env.FAST_CHECK_RUNS ?? 10_000);

const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'KRW', 'ISK', 'KWD', 'BHD', 'IQD', 'CLF', 'UYW', 'XCG'];
// biome-ignore lint/suspicious/noControlCharactersInRegex: order_ref refuses control characters
const CONTROL = /[\u0000-\u001F\u007F]/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const validate = (() => {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  return ajv.compile(paymentEventJsonSchema());
})();

/**
 * Any well-formed text of 1 to `max` UTF-16 code units, the longest ones included: `max` characters that
 * are 3 bytes in UTF-8, and, where `control` allows them, `max` control characters (6-byte escapes).
 */
const text = (max: number, options: { control?: boolean } = {}) =>
  fc
    .oneof(
      { weight: 8, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: Math.ceil(max / 2) }) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '€'.repeat(max),
          '😀'.repeat(Math.floor(max / 2)),
          options.control ? '\u0001'.repeat(max) : 'x'.repeat(max),
        ),
      },
    )
    .filter(
      (s) => s.length <= max && !LONE_SURROGATE.test(s) && (options.control === true || !CONTROL.test(s)),
    );

/** A JSON number's text: big integers, long decimals, exponents, signs. */
const numberText = fc.oneof(
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.stringMatching(/^\d{1,40}$/))
    .map(([whole, fraction]) => `${whole}.${fraction}`),
  fc.constantFrom('9994456683762355345868', '-0', '0.10', '1E400', '-1e-400', '1.0E+2', '129.90'),
);

/** Unknown fields: JSON values whose numbers are written as generated. */
const extraValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText.map((n) => new RawNumber(n)),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Amount text in `currency`: within 12 integer digits and 15 digits in minor units, with trailing zeros. */
const amountIn = (currency: string) => {
  const digits = currencyMinorUnits(currency) ?? 2;
  const integerDigits = Math.min(12, 15 - digits);
  return fc
    .tuple(
      fc.bigInt({ min: 0n, max: 10n ** BigInt(integerDigits) - 1n }),
      fc.stringMatching(new RegExp(`^\\d{0,${digits}}$`)),
      fc.integer({ min: 0, max: 3 }),
      fc.boolean(),
    )
    .map(([whole, fraction, zeros, asString]) => {
      const decimals = fraction + '0'.repeat(zeros);
      const amount = decimals === '' ? String(whole) : `${whole}.${decimals}`;
      return asString ? amount : new RawNumber(amount);
    });
};

/** `occurred_at` with an offset: a wall time in a 4-digit year, whose instant is one too. */
const occurredAt = fc
  .tuple(
    fc.date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
    fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
    fc.constantFrom('Z', 'offset', 'offset'),
    fc.constantFrom('', 'ms', 'ns'),
  )
  .map(([wall, offsetMinutes, zone, fraction]) => {
    const iso = wall.toISOString();
    const seconds = iso.slice(0, 19);
    const sub = fraction === '' ? '' : fraction === 'ms' ? iso.slice(19, 23) : `${iso.slice(19, 23)}456789`;
    if (zone === 'Z') return `${seconds}${sub}Z`;
    const sign = offsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(offsetMinutes);
    const hh = String(Math.floor(abs / 60)).padStart(2, '0');
    const mm = String(abs % 60).padStart(2, '0');
    return `${seconds}${sub}${sign}${hh}:${mm}`;
  })
  .filter((value) => {
    const instant = Date.parse(value);
    return instant >= Date.parse('0000-01-01T00:00:00Z') && instant <= Date.parse('9999-12-31T23:59:59.999Z');
  });

const attempt = fc.record(
  {
    n: fc.integer({ min: 1, max: MAX_ATTEMPT_NUMBER }).map((n) => new RawNumber(String(n))),
    acquirer: text(MAX_ACQUIRER_LENGTH, { control: true }),
    result: fc.oneof(
      fc.constantFrom('approved', 'soft_decline'),
      text(MAX_ATTEMPT_RESULT_LENGTH, { control: true }),
    ),
    code: fc.oneof(
      text(MAX_ATTEMPT_CODE_LENGTH, { control: true }),
      fc.stringMatching(/^\d{1,64}$/).map((digits) => new RawNumber(digits.replace(/^0+(?=\d)/, ''))),
    ),
  },
  { requiredKeys: ['n', 'acquirer', 'result'] },
);

const ipn = fc
  .record({
    event: fc.oneof(
      fc.constantFrom('payment.succeeded', 'payment.refunded', 'payment.chargeback'),
      fc.stringMatching(new RegExp(`^payment\\.[a-z0-9_.-]{1,${MAX_EVENT_NAME_LENGTH - 8}}$`)),
    ),
    payment_id: fc.stringMatching(new RegExp(`^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,${MAX_PAYMENT_ID_LENGTH}}$`)),
    order_ref: text(MAX_ORDER_REF_LENGTH),
    currency: fc.constantFrom(...CURRENCIES),
    occurred_at: occurredAt,
    attempts: fc.option(fc.array(attempt, { maxLength: MAX_ATTEMPTS }), { nil: undefined }),
    extra: fc.dictionary(
      fc.string({ unit: 'binary', maxLength: 10 }).map((key) => `x_${key}`),
      extraValue,
      {
        maxKeys: 6,
      },
    ),
  })
  .chain((fields) => amountIn(fields.currency).map((amount) => ({ ...fields, amount })))
  .map(({ extra, ...fields }) => ({ ...extra, ...fields }));

function stored(
  body: Buffer,
  payload: { payment_id: string; event: string; order_ref: string },
): StoredEvent {
  return {
    paymentId: payload.payment_id,
    event: payload.event,
    orderRef: payload.order_ref,
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: 1_778_417_220,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
}

describe('canonical event properties', () => {
  it('every valid IPN is accepted, and its canonical event is valid, exact and publishable', () => {
    fc.assert(
      fc.property(ipn, fc.boolean(), (fields, replayed) => {
        const body = Buffer.from(ipnJson(fields));

        const payload = parseIpnBody(body);
        const { entry } = toCanonicalEvent(stored(body, payload), {
          source: 'okepay',
          ...(replayed ? { replay: { replayId: 'rp-1', requestedAt: '2026-06-01T00:00:00.000Z' } } : {}),
        });

        const detail = JSON.parse(entry.detail) as { amount: { decimal: string; minorUnits: number } };
        const envelope = {
          version: '0',
          id: '5af0ab93-1d96-5124-b425-f685ed4f1350',
          'detail-type': entry.detailType,
          source: entry.source,
          account: '123456789012',
          time: `${entry.time.toISOString().slice(0, 19)}Z`,
          region: 'eu-west-1',
          resources: [],
          detail,
        };
        expect(validate(envelope) ? [] : validate.errors).toEqual([]);

        const exact = parseLosslessJson(entry.detail) as { raw: unknown };
        expect(exact.raw).toEqual(parseLosslessJson(body.toString('utf8')));

        const { decimal, minorUnits } = detail.amount;
        expect(Number.isSafeInteger(minorUnits)).toBe(true);
        expect(String(minorUnits)).toBe(decimal.replace('.', '').replace(/^0+(?=\d)/, ''));

        expect(entrySize(entry)).toBeLessThanOrEqual(MAX_PUT_EVENTS_BYTES);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
