import type * as z from 'zod';

/** One problem found in the input: where (`path`, as in `detail.amount.decimal`) and what. */
export type PaymentEventIssue = z.core.$ZodIssue;

/**
 * The input is not an okePay payment event. `issues` are zod's issues (a single `custom` issue when
 * the text was not JSON at all); `message` lists them with their paths and, when the input has a
 * recognisable wrong shape, how to fix it.
 */
export class PaymentEventParseError extends Error {
  override readonly name = 'PaymentEventParseError';
  readonly issues: readonly PaymentEventIssue[];
  /** The SQS message id, when the event came in an SQS record: report it in `batchItemFailures`. */
  readonly messageId: string | undefined;

  constructor(
    message: string,
    details: { issues: readonly PaymentEventIssue[]; messageId?: string | undefined; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.issues = details.issues;
    this.messageId = details.messageId;
  }
}
