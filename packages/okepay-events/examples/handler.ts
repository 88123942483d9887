/**
 * The Lambda function of examples/idempotent-consumer.ts: an SQS event source mapping with
 * ReportBatchItemFailures, so only the records that failed are retried.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createRecordHandler, DynamoDbProcessedEvents } from './idempotent-consumer.js';

const tableName = process.env.PROCESSED_EVENTS_TABLE;
if (!tableName) throw new Error('Set PROCESSED_EVENTS_TABLE to the table of processed eventIds');

const processor = new BatchProcessor(EventType.SQS);
const handleRecord = createRecordHandler({
  processed: new DynamoDbProcessedEvents(new DynamoDBClient({}), tableName),
  fulfilOrder: async (event) => {
    // Your side effect: release the order, send the receipt...
    console.log(`fulfil ${event.detail.orderRef}: ${event.detail.amount.decimal} ${event.detail.currency}`);
  },
});

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context });
