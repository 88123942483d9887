import * as z from 'zod';
import type { EventKey } from '../store/event-store.ts';
import type { QueuedIpn } from './ipn-queue.ts';

/** A queue message that is not a queued IPN reference: it can never be processed. */
export class InvalidQueueMessageError extends Error {
  override readonly name = 'InvalidQueueMessageError';
}

const queuedIpnSchema = z.object({
  v: z.literal(1),
  paymentId: z.string().min(1),
  event: z.string().min(1),
  revisionHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
}) satisfies z.ZodType<Pick<QueuedIpn, 'v' | 'paymentId' | 'event' | 'revisionHash'>>;

/**
 * Reads the key of the stored event a queue message refers to, as the ingest function wrote it. Used
 * by the consumer and by the DLQ diagnosis; throws {@link InvalidQueueMessageError} saying what is wrong.
 */
export function parseQueuedIpn(body: string): EventKey {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidQueueMessageError('the body is not JSON', { cause: error });
  }
  const result = queuedIpnSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new InvalidQueueMessageError(`not a queued IPN reference (${issues.join('; ')})`);
  }
  const { paymentId, event, revisionHash } = result.data;
  return revisionHash ? { paymentId, event, revisionHash } : { paymentId, event };
}
