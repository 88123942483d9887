/**
 * Type guards over parsed events: narrow a {@link PaymentEvent} by its `detail-type`, or tell a
 * replayed event from a live one. They check fields only; validation is the parser's job.
 */
import type { PaymentEvent, PaymentEventOf, ReplayedPaymentEvent } from './payment-event-types.ts';

/**
 * A guard for one event type, known or not: `events.filter(isPaymentEvent('payment.refunded'))`.
 * Checks both `detail-type` and `detail.type` (the pipeline sets them alike).
 */
export function isPaymentEvent<const T extends string>(
  type: T,
): (event: PaymentEvent) => event is PaymentEventOf<T> {
  return (event: PaymentEvent): event is PaymentEventOf<T> =>
    event['detail-type'] === type && event.detail.type === type;
}

/** `payment.pending`: status `Pending`. */
export const isPaymentPending = isPaymentEvent('payment.pending');
/** `payment.succeeded`: status `Completed`. */
export const isPaymentSucceeded = isPaymentEvent('payment.succeeded');
/** `payment.failed`: status `Error`. */
export const isPaymentFailed = isPaymentEvent('payment.failed');
/** `payment.refunded`: status `Reversed`, statusReason `refund`. */
export const isPaymentRefunded = isPaymentEvent('payment.refunded');
/** `payment.chargeback`: status `Reversed`, statusReason `chargeback`. */
export const isPaymentChargeback = isPaymentEvent('payment.chargeback');

/**
 * Whether the event was published by a replay (`detail.replay` is set). A replayed event carries the
 * same `detail.eventId` as the live one, so an idempotent consumer needs no special case for it.
 */
export function isReplay<E extends PaymentEvent>(event: E): event is ReplayedPaymentEvent<E> {
  return event.detail.replay !== undefined;
}
