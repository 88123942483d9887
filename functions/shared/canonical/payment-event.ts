/**
 * The canonical payment event: the public contract of this product. Downstream teams write
 * EventBridge rules against it, so fields are added, never renamed or retyped, within a
 * `schemaVersion`. This zod schema is the single source of the TypeScript type, the runtime check,
 * the JSON Schema in `events/schema/` and the samples in `events/samples/`.
 */
import * as z from 'zod';
import { MAX_MINOR_UNIT_DIGITS } from '../ipn/money.ts';
import { SCHEMA_VERSION, TRANSACTION_STATUSES } from './constants.ts';

const isoUtc = z.iso
  .datetime({ offset: false })
  .describe('ISO 8601 date-time in UTC, e.g. 2026-05-10T12:46:52.000Z');

export const cascadeAttemptSchema = z
  .object({
    n: z.number().int().min(1).describe('1-based position in the cascade'),
    acquirer: z.string().describe('The acquirer tried, e.g. ACQ-EU-1'),
    result: z.string().describe('The outcome, e.g. soft_decline, approved'),
    code: z.string().optional().describe('The acquirer response code, when given'),
  })
  .describe("One attempt of okePay's cascading retry");

export const paymentEventDetailSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION).describe('Version of this detail schema'),
    eventId: z
      .uuid()
      .describe(
        'Stable id derived from paymentId + type (+ the content of a revision ≥ 2): the same on every redelivery and replay. Dedupe on it.',
      ),
    revision: z
      .number()
      .int()
      .min(1)
      .describe(
        '1 for the first IPN received for paymentId + type; 2, 3... for later IPNs with the same paymentId and ' +
          'type but different content (a second partial refund), each with an eventId of its own',
      ),
    type: z
      .string()
      .describe('The okePay event name, e.g. payment.succeeded; unknown payment.* types keep their name'),
    paymentId: z.string(),
    orderRef: z.string(),
    amount: z
      .object({
        decimal: z
          .string()
          .regex(/^\d+(\.\d+)?$/)
          .describe(
            'Exact decimal with the currency\'s minor-unit digits: "129.90" EUR, "5400" JPY, "12.345" KWD',
          ),
        minorUnits: z
          .number()
          .int()
          .min(0)
          .max(10 ** MAX_MINOR_UNIT_DIGITS - 1)
          .describe(
            `Integer amount in minor units, e.g. 12990 for 129.90 EUR; at most ${MAX_MINOR_UNIT_DIGITS} digits, so exact as a JS number`,
          ),
        number: z.number().min(0).describe('The amount as a JSON number, for EventBridge numeric matching'),
        minorUnitDigits: z
          .number()
          .int()
          .min(0)
          .max(4)
          .describe('Digits after the decimal point in this currency'),
      })
      .describe('The amount, three ways: exact text, exact integer, and a number for rules'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .describe('ISO 4217 code'),
    status: z.enum(TRANSACTION_STATUSES).describe('OKPAY transaction status the event maps to'),
    statusReason: z
      .enum(['refund', 'chargeback'])
      .optional()
      .describe('Why a payment is Reversed: a refund or a chargeback'),
    occurredAt: isoUtc.describe("When it happened at okePay (the IPN's occurred_at), in UTC"),
    receivedAt: isoUtc.describe('When this pipeline accepted the IPN, in UTC'),
    cascade: z
      .object({
        attempts: z.array(cascadeAttemptSchema),
        approvedBy: z.string().optional().describe('The acquirer whose attempt was approved, if any'),
      })
      .optional()
      .describe("okePay's cascade, when the IPN carries its attempts list"),
    replay: z
      .object({
        replayId: z.string(),
        requestedAt: isoUtc,
        subscriber: z
          .string()
          .optional()
          .describe(
            'The one subscription this replay is for (its rule opts in); absent: for every subscriber that takes replays',
          ),
      })
      .optional()
      .describe('Present only on replayed events; absent on live ones'),
    raw: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe(
        'The original IPN payload, every number written as okePay sent it (129.90, a 22-digit transaction id: ' +
          'read it with a lossless JSON parser to keep them); null only when it was too large to publish (see rawOmitted)',
      ),
    rawOmitted: z
      .enum(['too_large', 'withheld'])
      .optional()
      .describe(
        'Why raw is null: too_large (left out to keep the event under the PutEvents size limit) or withheld ' +
          '(the stack shares no raw payload on the bus: setting rawOnBus). The stored item keeps the body',
      ),
    rawRedacted: z
      .array(z.string())
      .optional()
      .describe(
        'Paths of the okePay payload left out of raw by the stack (setting rawOnBus), when any were present',
      ),
    ordering: z
      .object({
        outOfOrder: z
          .boolean()
          .describe(
            "True when, as this event was published, the pipeline had already received an event of the same payment that happened later by okePay's occurred_at (a refund before its success)",
          ),
        latest: z
          .object({
            type: z.string().describe('Event type of the latest known event of the payment, by occurred_at'),
            revision: z.number().int().min(1),
            status: z.enum(TRANSACTION_STATUSES).describe("The payment's latest known OKPAY status"),
            occurredAt: isoUtc,
          })
          .describe(
            'The latest event of the payment by occurred_at among those stored when this one was published',
          ),
        basedOn: z
          .number()
          .int()
          .min(1)
          .describe(
            'How many stored events of the payment (this one included) the signals were computed from',
          ),
      })
      .optional()
      .describe(
        'Computed when the event is published (and again on a replay, from what is stored then); see README "Ordering signals"',
      ),
  })
  .describe('detail of an okePay payment event');

export type PaymentEventDetail = z.output<typeof paymentEventDetailSchema>;

/** The EventBridge envelope a subscriber's target receives, with the canonical detail. */
export const paymentEventEnvelopeSchema = z
  .object({
    version: z.literal('0'),
    id: z
      .string()
      .describe("EventBridge's id of this delivery; differs per publish. Use detail.eventId to dedupe"),
    'detail-type': z.string().describe('The okePay event name, e.g. payment.succeeded'),
    source: z.string().describe('okepay, unless configured otherwise'),
    account: z.string(),
    time: z.string().describe("The event's occurred_at"),
    region: z.string(),
    resources: z.array(z.string()),
    detail: paymentEventDetailSchema,
  })
  .describe('okePay payment event, as delivered by Amazon EventBridge');

export type PaymentEventEnvelope = z.output<typeof paymentEventEnvelopeSchema>;
