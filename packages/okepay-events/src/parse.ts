/**
 * Validation of what a subscriber's code receives, against the pipeline's own zod schema: the
 * EventBridge event itself (a Lambda target), an SQS record whose body is that event (an SQS target),
 * a whole SQS-triggered Lambda event, or the event's JSON text.
 */
import { paymentEventEnvelopeSchema } from '../../../functions/shared/canonical/payment-event.ts';
import { type PaymentEventIssue, PaymentEventParseError } from './errors.ts';
import type { PaymentEvent } from './payment-event-types.ts';

const MAX_LISTED_ISSUES = 8;

export type SafeParseResult =
  | { success: true; data: PaymentEvent }
  | { success: false; error: PaymentEventParseError };

interface Unwrapped {
  value: unknown;
  messageId?: string | undefined;
  /** Where the event was taken from, for the message: `record 2 of 10, SQS message 1b0e...`. */
  origin?: string | undefined;
}

/**
 * Validates one okePay payment event and returns it, typed. `input` is the EventBridge event, an SQS
 * record carrying it as its body, or its JSON text. The event is returned as received: fields added
 * by a later schema version are kept (untyped), not stripped.
 *
 * Numbers in `detail.raw` (okePay's payload) may be longer than a double holds; JSON text is read
 * with `JSON.parse`, which rounds them. To keep their digits, parse the text yourself with a lossless
 * JSON parser that leaves safe numbers as numbers, and pass the object (see the README).
 *
 * @throws PaymentEventParseError with zod's issues and, for an SQS record, its `messageId`.
 */
export function parsePaymentEvent(input: unknown): PaymentEvent {
  if (isSqsEvent(input)) {
    throw new PaymentEventParseError(
      `Not one okePay payment event: an SQS event with ${input.Records.length} record(s); ` +
        'use parsePaymentEvents(event), or parsePaymentEvent(record) for each record',
      { issues: [customIssue('an SQS event; expected one EventBridge event', [])] },
    );
  }
  return validate(unwrap(input));
}

/**
 * Every payment event of an SQS-triggered Lambda event (`{ Records: [...] }`), in record order; for
 * any other input, `[parsePaymentEvent(input)]`. Throws at the first record that is not a payment
 * event, naming it; to let the good records of a batch through, parse each record on its own (with
 * Powertools' batch processor, for instance: see examples/idempotent-consumer.ts).
 *
 * @throws PaymentEventParseError for the first invalid record, with its `messageId`.
 */
export function parsePaymentEvents(input: unknown): PaymentEvent[] {
  if (!isSqsEvent(input)) return [parsePaymentEvent(input)];
  const total = input.Records.length;
  return input.Records.map((record, index) => validate(unwrap(record, `record ${index + 1} of ${total}`)));
}

/** {@link parsePaymentEvent} without the throw: `{ success, data }` or `{ success, error }`. */
export function safeParsePaymentEvent(input: unknown): SafeParseResult {
  try {
    return { success: true, data: parsePaymentEvent(input) };
  } catch (error) {
    if (error instanceof PaymentEventParseError) return { success: false, error };
    throw error;
  }
}

function validate({ value, messageId, origin }: Unwrapped): PaymentEvent {
  const result = paymentEventEnvelopeSchema.safeParse(value);
  if (!result.success) {
    const where = origin ? ` (${origin})` : '';
    const hint = hintFor(value);
    throw new PaymentEventParseError(
      `Not a valid okePay payment event${where}: ${hint ? `${hint}. ` : ''}${describeIssues(result.error.issues)}`,
      { issues: result.error.issues, messageId, cause: result.error },
    );
  }
  // The input, not `result.data`: zod strips keys the schema does not know, and a consumer on this
  // version must not lose fields a later version of the pipeline adds. The schema has no transforms
  // or defaults, so apart from those keys the two are equal.
  return value as PaymentEvent;
}

/** The event out of an SQS record or JSON text; `position` is where it sits in a batch. */
function unwrap(input: unknown, position?: string): Unwrapped {
  if (isSqsRecord(input)) {
    const messageId = typeof input.messageId === 'string' ? input.messageId : undefined;
    const origin = [position, messageId ? `SQS message ${messageId}` : 'SQS record']
      .filter(Boolean)
      .join(', ');
    return { value: parseJson(input.body, origin, messageId), origin, messageId };
  }
  if (typeof input === 'string')
    return { value: parseJson(input, position ?? 'JSON text'), origin: position };
  return { value: input, origin: position };
}

function parseJson(text: string, origin: string, messageId?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PaymentEventParseError(
      `Not a valid okePay payment event (${origin}): not JSON (${reason}). An EventBridge → SQS target ` +
        "delivers the event as JSON text; check that the rule's target has no input transformer.",
      { issues: [customIssue(`not JSON: ${reason}`, [])], messageId, cause: error },
    );
  }
}

/** How to fix inputs that have a known wrong shape. */
function hintFor(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if ('eventId' in value && 'schemaVersion' in value && !('detail' in value)) {
    return (
      'this looks like the detail alone (a rule target with InputPath "$.detail" or an input transformer?); ' +
      'pass the whole EventBridge event'
    );
  }
  if (value.Type === 'Notification' && typeof value.Message === 'string') {
    return 'this is an SNS notification; enable raw message delivery on the SNS subscription to the queue';
  }
  return undefined;
}

function describeIssues(issues: readonly PaymentEventIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => `${pathOf(issue.path)}: ${issue.message}`);
  const more = issues.length - listed.length;
  return listed.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** `['detail', 'cascade', 'attempts', 0, 'n']` → `detail.cascade.attempts[0].n`. */
function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(the event)';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

function customIssue(message: string, path: PropertyKey[]): PaymentEventIssue {
  return { code: 'custom', message, path, input: undefined };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSqsRecord(value: unknown): value is { body: string; messageId?: unknown } {
  return (
    isObject(value) &&
    typeof value.body === 'string' &&
    (value.eventSource === 'aws:sqs' || typeof value.messageId === 'string')
  );
}

function isSqsEvent(value: unknown): value is { Records: unknown[] } {
  return isObject(value) && Array.isArray(value.Records);
}
