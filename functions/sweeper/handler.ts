/**
 * The scheduled sweeper: enqueues again the stored events still unpublished after the grace period,
 * and publishes the gauges of what waits for an operator (stuck, held, rejected). No input. The logic
 * is in functions/operations/sweep-stuck-events.ts, shared with `okepay stuck` and the local pipeline.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type SweepReport, sweepStuckEvents } from '../operations/sweep-stuck-events.ts';
import { dynamoDbClient } from '../shared/clients/dynamodb.ts';
import { sqsClient } from '../shared/clients/sqs.ts';
import { METRIC_NAMESPACE } from '../shared/observability.ts';
import { SqsIpnQueue } from '../shared/queue/sqs-ipn-queue.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { loadSweeperConfig } from './config.ts';

const logger = new Logger({ serviceName: 'okepay-sweeper' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'okepay-sweeper' });
const config = loadSweeperConfig(process.env);
const store = new DynamoDbEventStore(dynamoDbClient, config.tableName);
const queue = new SqsIpnQueue(sqsClient, config.queueUrl);

export const handler = async (
  _event?: unknown,
  context?: Context,
): Promise<Omit<SweepReport, 'stuckItems'>> => {
  if (context) logger.addContext(context);
  try {
    const { stuckItems: _items, ...report } = await sweepStuckEvents({
      store,
      queue,
      now: Date.now,
      log: logger,
      metrics,
      settings: { graceMs: config.graceSeconds * 1000 },
    });
    return report;
  } finally {
    metrics.publishStoredMetrics();
  }
};
