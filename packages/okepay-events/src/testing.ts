/**
 * Valid okePay payment events for a consumer's own unit tests (the `okepay-events/testing` entry).
 * The eventId is derived exactly as the pipeline derives it, so an event built for a payment id and
 * type carries the id the pipeline would publish for it.
 */
import { v5 as uuidv5 } from 'uuid';
import { SCHEMA_VERSION } from '../../../functions/shared/canonical/constants.ts';
import { eventIdFor } from '../../../functions/shared/canonical/event-id.ts';
import { contentSha256 } from '../../../functions/shared/ipn/content-hash.ts';
import {
  DECIMAL_AMOUNT,
  formatMinorUnits,
  fractionDigits,
  toMinorUnits,
} from '../../../functions/shared/ipn/money.ts';
import { parsePaymentEvent } from './parse.ts';
import type { PaymentEventDetail, PaymentEventOf, ReplayMarker } from './payment-event-types.ts';

/** The pipeline's eventId of `paymentId` + `type` (+ the content hash of a revision ≥ 2). */
export { eventIdFor };

/** Namespace of the factory's envelope `id`s (EventBridge's own ids are random per publish). */
const ENVELOPE_ID_NAMESPACE = '0d9c2b7e-6a41-4f3e-9b85-3c7e1a5f2d60';

type StatusMapping = Pick<PaymentEventDetail, 'status' | 'statusReason'>;

/** What the pipeline maps each okePay type to (`statusFor` in functions/shared/canonical/normalise.ts). */
const STATUS_BY_TYPE: Record<string, StatusMapping> = {
  'payment.pending': { status: 'Pending' },
  'payment.succeeded': { status: 'Completed' },
  'payment.failed': { status: 'Error' },
  'payment.refunded': { status: 'Reversed', statusReason: 'refund' },
  'payment.chargeback': { status: 'Reversed', statusReason: 'chargeback' },
};

export interface PaymentEventOptions<T extends string> {
  /** `payment.succeeded`, ...; an unknown `payment.*` type gets status `None`, as in the pipeline. */
  type: T;
  /**
   * Decimal text with the currency's minor-unit digits, as the event carries it: `"129.90"` EUR,
   * `"5400"` JPY, `"12.345"` KWD. Default `"129.90"`.
   */
  amount?: string;
  /** Digits after the point in this currency; default: those written in `amount`. */
  minorUnitDigits?: number;
  /** ISO 4217; default `EUR`. */
  currency?: string;
  /** Default `pay_test_0001`. */
  paymentId?: string;
  /** Default `ORDER-TEST-0001`. */
  orderRef?: string;
  /** When it happened at okePay; default 2026-05-10T12:46:52.000Z. */
  occurredAt?: string | Date;
  /** When the pipeline accepted it; default 8 seconds after `occurredAt`. */
  receivedAt?: string | Date;
  /** Default 1. From 2 on the eventId also covers the content, as in the pipeline. */
  revision?: number;
  /** The revision's content hash (revision ≥ 2 only); default: the content hash of `raw`. */
  revisionHash?: string;
  /** Makes a replayed event: same eventId, `detail.replay` set. */
  replay?: ReplayMarker;
  cascade?: PaymentEventDetail['cascade'];
  /** okePay's payload; default: built from the fields above. `null` makes an event published without it. */
  raw?: Record<string, unknown> | null;
  /** Envelope fields; defaults `okepay`, `123456789012`, `eu-west-1`, and an id derived from the eventId. */
  source?: string;
  account?: string;
  region?: string;
  id?: string;
}

/**
 * A valid payment event (it has passed {@link parsePaymentEvent}) for the given type and fields, with
 * realistic defaults for the rest: `makePaymentEvent({ type: 'payment.refunded', amount: '12.345',
 * currency: 'KWD' })`. Deterministic: the same options give the same event.
 *
 * @throws PaymentEventParseError when the options make an invalid event (a currency `eur`, ...).
 */
export function makePaymentEvent<const T extends string>(options: PaymentEventOptions<T>): PaymentEventOf<T> {
  const { type, currency = 'EUR', paymentId = 'pay_test_0001', orderRef = 'ORDER-TEST-0001' } = options;
  const occurredAt = isoString(options.occurredAt ?? '2026-05-10T12:46:52.000Z', 'occurredAt');
  const receivedAt = isoString(options.receivedAt ?? new Date(Date.parse(occurredAt) + 8_000), 'receivedAt');
  const amount = amountOf(options.amount ?? '129.90', options.minorUnitDigits);
  const revision = options.revision ?? 1;
  const payload = options.raw ?? {
    event: type,
    payment_id: paymentId,
    order_ref: orderRef,
    amount: amount.number,
    currency,
    occurred_at: occurredAt.replace(/\.\d{3}Z$/, 'Z'),
    ...(options.cascade ? { attempts: options.cascade.attempts } : {}),
  };
  const revisionHash =
    revision >= 2 ? (options.revisionHash ?? contentSha256(JSON.stringify(payload))) : undefined;
  const eventId = eventIdFor(paymentId, type, revisionHash);
  const detail: PaymentEventDetail = {
    schemaVersion: SCHEMA_VERSION,
    eventId,
    revision,
    type,
    paymentId,
    orderRef,
    amount,
    currency,
    ...(STATUS_BY_TYPE[type] ?? { status: 'None' }),
    occurredAt,
    receivedAt,
    ...(options.cascade ? { cascade: options.cascade } : {}),
    ...(options.replay ? { replay: options.replay } : {}),
    ...(options.raw === null ? { raw: null, rawOmitted: 'too_large' } : { raw: payload }),
  };
  const envelope = {
    version: '0',
    id:
      options.id ??
      uuidv5(JSON.stringify([eventId, options.replay?.replayId ?? null]), ENVELOPE_ID_NAMESPACE),
    'detail-type': type,
    source: options.source ?? 'okepay',
    account: options.account ?? '123456789012',
    time: occurredAt.replace(/\.\d{3}Z$/, 'Z'),
    region: options.region ?? 'eu-west-1',
    resources: [],
    detail,
  };
  // Validated like a received event, so a test cannot start from an event the pipeline never sends.
  return parsePaymentEvent(envelope) as PaymentEventOf<T>;
}

function amountOf(
  decimalText: string,
  minorUnitDigits = fractionDigits(decimalText),
): PaymentEventDetail['amount'] {
  if (typeof decimalText !== 'string' || !DECIMAL_AMOUNT.test(decimalText)) {
    throw new RangeError(
      `makePaymentEvent: amount ${String(decimalText)} is not decimal text such as "129.90"`,
    );
  }
  const minor = toMinorUnits(decimalText, minorUnitDigits);
  const decimal = formatMinorUnits(minor, minorUnitDigits);
  return { decimal, minorUnits: Number(minor), number: Number(decimal), minorUnitDigits };
}

function isoString(value: string | Date, name: string): string {
  const time = new Date(value).getTime();
  if (Number.isNaN(time)) throw new RangeError(`makePaymentEvent: ${name} ${String(value)} is not a date`);
  return new Date(time).toISOString();
}
