/**
 * SQS-triggered handler: publishes the canonical events of a batch of queued IPNs and reports the
 * messages that were not published in `batchItemFailures` (the event source mapping must set
 * `ReportBatchItemFailures`).
 *
 * Powertools' BatchProcessor builds the partial batch response and handles a fully failed batch, but
 * its record handler sees one record at a time. Publishing one record per PutEvents call would make 10
 * times the calls (and the cost), so the batch is published as a whole first and the record handler
 * only reports each record's outcome.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { EventBridgeEventBus } from '../shared/bus/eventbridge-event-bus.ts';
import { dynamoDbClient } from '../shared/clients/dynamodb.ts';
import { eventBridgeClient } from '../shared/clients/eventbridge.ts';
import { METRIC_NAMESPACE } from '../shared/observability.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { loadConsumerConfig } from './config.ts';
import { publishQueuedIpns } from './publish-queued-ipns.ts';

const logger = new Logger({ serviceName: 'okepay-consumer' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'okepay-consumer' });
const config = loadConsumerConfig(process.env);
const store = new DynamoDbEventStore(dynamoDbClient, config.tableName);
const bus = new EventBridgeEventBus(eventBridgeClient, config.eventBusName);
const processor = new BatchProcessor(EventType.SQS, { logger });

/** Time kept back from the invocation's budget for marking items published and answering. */
const SAFETY_MARGIN_MS = 3_000;
const DEFAULT_BUDGET_MS = 30_000;

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  try {
    const budget = context?.getRemainingTimeInMillis() ?? DEFAULT_BUDGET_MS;
    const outcomes = await publishQueuedIpns(event.Records, {
      store,
      bus,
      eventSource: config.eventSource,
      now: Date.now,
      deadline: Date.now() + budget - SAFETY_MARGIN_MS,
      log: logger,
      metrics,
    });
    const reportOutcome = async (record: SQSRecord) => {
      const outcome = outcomes.get(record.messageId);
      if (!outcome || outcome.status === 'failed')
        throw outcome?.error ?? new Error('Record was not processed');
      return outcome.status;
    };
    return await processPartialResponse(event, reportOutcome, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
