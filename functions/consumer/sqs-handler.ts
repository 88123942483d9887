import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type PublishQueuedIpnsDeps, publishQueuedIpns } from './publish-queued-ipns.ts';

/** Time kept back from the invocation's budget for marking items published and answering. */
const SAFETY_MARGIN_MS = 3_000;
const DEFAULT_BUDGET_MS = 30_000;

export type ConsumerDeps = Omit<PublishQueuedIpnsDeps, 'deadline'>;

/**
 * The consumer handler's logic over given collaborators: publishes the batch, then reports the
 * records that were not published in `batchItemFailures`.
 *
 * Powertools' BatchProcessor builds the partial batch response, but its record handler sees one record
 * at a time. It is told not to throw when every record failed: a batch of poison messages is each
 * record's own failure (counted as PoisonRecords), not a consumer crash, and must not trip the alarm on
 * the function's errors; the response lists every record, so they are all retried alike. Publishing
 * one record per PutEvents call would make 10 times the calls, so the batch is published as a whole
 * first and the record handler only reports each record's outcome.
 */
export function createConsumerSqsHandler(deps: ConsumerDeps) {
  const processor = new BatchProcessor(EventType.SQS, { logger: deps.log });
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const budget = context?.getRemainingTimeInMillis() ?? DEFAULT_BUDGET_MS;
    const outcomes = await publishQueuedIpns(event.Records, {
      ...deps,
      deadline: deps.now() + budget - SAFETY_MARGIN_MS,
    });
    const reportOutcome = async (record: SQSRecord) => {
      const outcome = outcomes.get(record.messageId);
      if (!outcome || outcome.status === 'failed')
        throw outcome?.error ?? new Error('Record was not processed');
      return outcome.status;
    };
    return processPartialResponse(event, reportOutcome, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  };
}
