/**
 * Cold-start attribution: the consumer floor plus functions/shared/canonical/payment-event.ts, the
 * canonical event's zod schemas, built when the module loads. The consumer no longer imports it (its
 * constants moved to constants.ts); this step shows what that saved.
 */
export { paymentEventDetailSchema } from '../../../functions/shared/canonical/payment-event.ts';
export * from '../floor-consumer.ts';
