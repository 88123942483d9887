/**
 * Cold-start attribution: the consumer floor plus functions/shared/canonical/payment-event.ts, which the
 * consumer imports for two string constants (SCHEMA_VERSION, DEFAULT_EVENT_SOURCE) and which builds the
 * canonical event's zod schemas when it loads.
 */
export { DEFAULT_EVENT_SOURCE } from '../../../functions/shared/canonical/payment-event.ts';
export * from '../floor-consumer.ts';
