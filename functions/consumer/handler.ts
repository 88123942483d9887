/**
 * SQS-triggered handler: publishes the canonical events of a batch of queued IPNs and reports the
 * messages that were not published in `batchItemFailures` (the event source mapping must set
 * `ReportBatchItemFailures`). It wires the AWS adapters once at cold start; the logic is in
 * `createConsumerSqsHandler`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EventBridgeEventBus } from '../shared/bus/eventbridge-event-bus.ts';
import { dynamoDbClient } from '../shared/clients/dynamodb.ts';
import { eventBridgeClient } from '../shared/clients/eventbridge.ts';
import { METRIC_NAMESPACE } from '../shared/observability.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { loadConsumerConfig } from './config.ts';
import { createConsumerSqsHandler } from './sqs-handler.ts';

const logger = new Logger({ serviceName: 'okepay-consumer' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'okepay-consumer' });
const config = loadConsumerConfig(process.env);

const handleBatch = createConsumerSqsHandler({
  store: new DynamoDbEventStore(dynamoDbClient, config.tableName),
  bus: new EventBridgeEventBus(eventBridgeClient, config.eventBusName),
  eventSource: config.eventSource,
  rawOnBus: config.rawOnBus,
  now: Date.now,
  log: logger,
  metrics,
});

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  try {
    return await handleBatch(event, context);
  } finally {
    metrics.publishStoredMetrics();
  }
};
