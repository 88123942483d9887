/**
 * The package's entry point (`okepay-events`): what a subscriber imports. The schema, its types and
 * constants are the pipeline's own (functions/shared/canonical/), bundled at pack time; the factory
 * for tests is the other entry point, `okepay-events/testing`.
 */
export {
  SCHEMA_VERSION,
  TRANSACTION_STATUSES,
} from '../../../functions/shared/canonical/constants.ts';
export {
  paymentEventDetailSchema,
  paymentEventEnvelopeSchema,
} from '../../../functions/shared/canonical/payment-event.ts';
export { type PaymentEventIssue, PaymentEventParseError } from './errors.ts';
export {
  isPaymentChargeback,
  isPaymentEvent,
  isPaymentFailed,
  isPaymentPending,
  isPaymentRefunded,
  isPaymentSucceeded,
  isReplay,
} from './guards.ts';
export {
  parsePaymentEvent,
  parsePaymentEvents,
  type SafeParseResult,
  safeParsePaymentEvent,
} from './parse.ts';
export {
  KNOWN_PAYMENT_EVENT_TYPES,
  type KnownPaymentEventType,
  type PaymentChargebackEvent,
  type PaymentEvent,
  type PaymentEventDetail,
  type PaymentEventOf,
  type PaymentFailedEvent,
  type PaymentPendingEvent,
  type PaymentRefundedEvent,
  type PaymentSucceededEvent,
  type ReplayedPaymentEvent,
  type ReplayMarker,
} from './payment-event-types.ts';
