/**
 * The consumer-facing names of the canonical event's types. Every shape comes from the pipeline's zod
 * schema (`functions/shared/canonical/payment-event.ts`); this file only names and narrows them.
 */
import type {
  PaymentEventDetail,
  PaymentEventEnvelope,
} from '../../../functions/shared/canonical/payment-event.ts';

export type { PaymentEventDetail };

/** An okePay payment event as EventBridge delivers it: the envelope with the canonical `detail`. */
export type PaymentEvent = PaymentEventEnvelope;

/** The okePay event types the pipeline knows; other `payment.*` types are published under their name. */
export const KNOWN_PAYMENT_EVENT_TYPES = [
  'payment.pending',
  'payment.succeeded',
  'payment.failed',
  'payment.refunded',
  'payment.chargeback',
] as const;
export type KnownPaymentEventType = (typeof KNOWN_PAYMENT_EVENT_TYPES)[number];

/** A payment event whose `detail-type` (and `detail.type`) is `T`. */
export type PaymentEventOf<T extends string> = PaymentEvent & {
  'detail-type': T;
  detail: { type: T };
};
export type PaymentPendingEvent = PaymentEventOf<'payment.pending'>;
export type PaymentSucceededEvent = PaymentEventOf<'payment.succeeded'>;
export type PaymentFailedEvent = PaymentEventOf<'payment.failed'>;
export type PaymentRefundedEvent = PaymentEventOf<'payment.refunded'>;
export type PaymentChargebackEvent = PaymentEventOf<'payment.chargeback'>;

/** `detail.replay`: present on replayed events only. */
export type ReplayMarker = NonNullable<PaymentEventDetail['replay']>;

/** A payment event published again by a replay: the live event plus `detail.replay`. */
export type ReplayedPaymentEvent<E extends PaymentEvent = PaymentEvent> = E & {
  detail: { replay: ReplayMarker };
};
