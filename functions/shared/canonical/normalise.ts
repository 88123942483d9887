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
import type { OrderingSignals } from './ordering.ts';
import type { PaymentEventDetail } from './payment-event.ts';
import { statusFor } from './status.ts';

export interface ReplayMarker {
  replayId: string;
  requestedAt: string;
  /** The one subscriber the replay is for; absent: every subscriber that takes replays. */
  subscriber?: string;
}

/** What `detail.raw` carries on the bus (stack setting `rawOnBus`); the stored item keeps the body. */
export type RawOnBus = { mode: 'all' } | { mode: 'none' } | { mode: 'redact'; paths: readonly string[] };

export interface NormaliseOptions {
  source: string;
  replay?: ReplayMarker;
  /** Default: everything okePay sent. */
  rawOnBus?: RawOnBus;
  /** Ordering signals computed from the payment's stored events (`ordering.ts`). */
  ordering?: OrderingSignals;
}

/**
 * Removes dot paths (`customer.email`) from a copy of the payload; returns the paths that were there.
 * Arrays are walked element by element (`attempts.code` removes every attempt's code).
 */
function redact(raw: Record<string, unknown>, paths: readonly string[]): string[] {
  const removed: string[] = [];
  const remove = (node: unknown, parts: readonly string[]): boolean => {
    if (Array.isArray(node)) return node.map((item) => remove(item, parts)).some(Boolean);
    if (node === null || typeof node !== 'object') return false;
    const [head, ...rest] = parts;
    if (head === undefined || !Object.hasOwn(node, head)) return false;
    const record = node as Record<string, unknown>;
    if (rest.length === 0) {
      delete record[head];
      return true;
    }
    return remove(record[head], rest);
  };
  for (const path of paths) if (remove(raw, path.split('.'))) removed.push(path);
  return removed;
}

function rawFor(
  raw: Record<string, unknown>,
  rawOnBus: RawOnBus | undefined,
): Pick<PaymentEventDetail, 'raw' | 'rawOmitted' | 'rawRedacted'> {
  if (rawOnBus?.mode === 'none') return { raw: null, rawOmitted: 'withheld' };
  if (rawOnBus?.mode === 'redact') {
    const removed = redact(raw, rawOnBus.paths);
    return removed.length > 0 ? { raw, rawRedacted: removed } : { raw };
  }
  return { raw };
}

export interface CanonicalEvent {
  detail: PaymentEventDetail;
  entry: BusEntry;
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
    ...(options.ordering ? { ordering: options.ordering } : {}),
    ...rawFor(raw, options.rawOnBus),
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
    const { rawRedacted: _redacted, ...rest } = detail;
    const trimmed: PaymentEventDetail = { ...rest, raw: null, rawOmitted: 'too_large' };
    return { detail: trimmed, entry: { ...entry, detail: detailJson(trimmed) } };
  }
  return { detail, entry };
}
