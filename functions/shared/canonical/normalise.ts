/**
 * Turns a stored okePay IPN into the canonical payment event. The consumer and the replay both use
 * this, so a replayed event is the live one plus the `replay` marker.
 */
import { parse as parseLosslessJson } from 'lossless-json';
import { type BusEntry, detailJson, entrySize, MAX_PUT_EVENTS_BYTES } from '../bus/event-bus.ts';
import { currencyMinorUnits } from '../ipn/currency.ts';
import { formatMinorUnits, toMinorUnits } from '../ipn/money.ts';
import { type IpnPayload, parseIpnBody } from '../ipn/payload.ts';
import type { StoredEvent } from '../store/event-store.ts';
import { SCHEMA_VERSION } from './constants.ts';
import { eventIdFor } from './event-id.ts';
import type { PaymentEventDetail } from './payment-event.ts';

export interface ReplayMarker {
  replayId: string;
  requestedAt: string;
  /** The one subscriber the replay is for; absent: every subscriber that takes replays. */
  subscriber?: string;
}

export interface NormaliseOptions {
  source: string;
  replay?: ReplayMarker;
}

export interface CanonicalEvent {
  detail: PaymentEventDetail;
  entry: BusEntry;
}

type StatusMapping = Pick<PaymentEventDetail, 'status' | 'statusReason'>;

const STATUS_BY_EVENT: Record<string, StatusMapping> = {
  'payment.pending': { status: 'Pending' },
  'payment.succeeded': { status: 'Completed' },
  'payment.failed': { status: 'Error' },
  'payment.refunded': { status: 'Reversed', statusReason: 'refund' },
  'payment.chargeback': { status: 'Reversed', statusReason: 'chargeback' },
};

/** OKPAY transaction status of an okePay event; unknown types are `None` ("status is not set yet"). */
export function statusFor(event: string): StatusMapping {
  return STATUS_BY_EVENT[event] ?? { status: 'None' };
}

function amountOf(payload: IpnPayload): PaymentEventDetail['amount'] {
  const minorUnitDigits = currencyMinorUnits(payload.currency);
  if (minorUnitDigits === undefined) throw new RangeError(`Unknown currency ${payload.currency}`);
  const minor = toMinorUnits(payload.amount, minorUnitDigits);
  const decimal = formatMinorUnits(minor, minorUnitDigits);
  return { decimal, minorUnits: Number(minor), number: Number(decimal), minorUnitDigits };
}

function cascadeOf(payload: IpnPayload): PaymentEventDetail['cascade'] {
  if (!payload.attempts) return undefined;
  const attempts = payload.attempts.map(({ n, acquirer, result, code }) => ({
    n,
    acquirer,
    result,
    ...(code === undefined ? {} : { code }),
  }));
  const approvedBy = attempts.find((attempt) => attempt.result === 'approved')?.acquirer;
  return approvedBy === undefined ? { attempts } : { attempts, approvedBy };
}

/**
 * Builds the canonical event of a stored IPN. Throws InvalidPayloadError if the stored body is not a
 * valid IPN (it was validated on the way in, so that means the item was altered).
 */
export function toCanonicalEvent(stored: StoredEvent, options: NormaliseOptions): CanonicalEvent {
  const payload = parseIpnBody(stored.body);
  // Read with lossless-json, as the ingest did: every number keeps the text okePay sent (a 22-digit
  // transaction id, 129.90), as a LosslessNumber, and is written back as that text in `entry.detail`.
  const raw = parseLosslessJson(stored.body.toString('utf8')) as Record<string, unknown>;
  const occurredAt = new Date(payload.occurred_at);
  const cascade = cascadeOf(payload);
  const detail: PaymentEventDetail = {
    schemaVersion: SCHEMA_VERSION,
    eventId: eventIdFor(payload.payment_id, payload.event, stored.revisionHash),
    revision: stored.revision,
    type: payload.event,
    paymentId: payload.payment_id,
    orderRef: payload.order_ref,
    amount: amountOf(payload),
    currency: payload.currency,
    ...statusFor(payload.event),
    occurredAt: occurredAt.toISOString(),
    receivedAt: new Date(stored.receivedAt).toISOString(),
    ...(cascade ? { cascade } : {}),
    ...(options.replay ? { replay: options.replay } : {}),
    raw,
  };
  const entry: BusEntry = {
    source: options.source,
    detailType: payload.event,
    detail: detailJson(detail),
    time: occurredAt,
  };
  if (entrySize(entry) > MAX_PUT_EVENTS_BYTES) {
    // A body near the 256 KiB ingest limit cannot travel whole; the stored item keeps it. Without raw
    // the event always fits: the payload schema bounds every field copied here (worst case measured in
    // test/unit/normalise.test.ts).
    const trimmed: PaymentEventDetail = { ...detail, raw: null, rawOmitted: 'too_large' };
    return { detail: trimmed, entry: { ...entry, detail: detailJson(trimmed) } };
  }
  return { detail, entry };
}
