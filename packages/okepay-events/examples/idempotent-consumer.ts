/**
 * An idempotent subscriber, as a team writes it in its own repository: an EventBridge rule sends
 * `payment.succeeded` events to the team's SQS queue, and a Lambda function reads the queue
 * (handler.ts). Delivery is at least once: the pipeline may publish an event twice (a crash between
 * PutEvents and marking it published), and a replay publishes it again; every copy carries the same
 * `detail.eventId`, so the order is fulfilled once per eventId.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { isPaymentSucceeded, type PaymentSucceededEvent, parsePaymentEvent } from 'okepay-events';

/** The eventIds already handled, and those being handled now. */
export interface ProcessedEvents {
  /** Takes `eventId` for this invocation, or says an earlier delivery completed it. */
  claim(eventId: string): Promise<'claimed' | 'done'>;
  complete(eventId: string): Promise<void>;
  /** Gives a claim back after a failure, so that the retry of the message can take it. */
  release(eventId: string): Promise<void>;
}

export interface RecordHandlerDeps {
  processed: ProcessedEvents;
  fulfilOrder: (event: PaymentSucceededEvent) => Promise<void>;
}

/**
 * Handles one SQS record. A record that is not a payment event throws PaymentEventParseError: that
 * record alone fails, and reaches the queue's DLQ after its maxReceiveCount.
 */
export function createRecordHandler({ processed, fulfilOrder }: RecordHandlerDeps) {
  return async (record: SQSRecord): Promise<void> => {
    const event = parsePaymentEvent(record);
    if (!isPaymentSucceeded(event)) return; // the rule sends only these; anything else is not ours
    const { eventId } = event.detail;
    if ((await processed.claim(eventId)) === 'done') return; // a redelivery or a replay
    try {
      await fulfilOrder(event);
    } catch (error) {
      await processed.release(eventId);
      throw error;
    }
    await processed.complete(eventId);
  };
}

/** Another invocation is handling the same event right now; the message is retried later. */
export class EventInProgressError extends Error {
  override readonly name = 'EventInProgressError';
  constructor(
    readonly eventId: string,
    options?: ErrorOptions,
  ) {
    super(`Event ${eventId} is being handled by another invocation; retry after its claim expires`, options);
  }
}

/**
 * ProcessedEvents in a DynamoDB table with partition key `eventId` (string) and TTL on `expiresAt`.
 * A claim expires after `claimSeconds` (longer than the function's timeout), so one left by a crashed
 * invocation is taken over; a completed event is remembered for `keepSeconds`, which must exceed how
 * long the pipeline keeps events for replay (OKEPAY_RETENTION_DAYS, 90 days by default).
 */
export class DynamoDbProcessedEvents implements ProcessedEvents {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly claimSeconds = 15 * 60,
    private readonly keepSeconds = 400 * 24 * 3600,
  ) {}

  async claim(eventId: string): Promise<'claimed' | 'done'> {
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            eventId: { S: eventId },
            state: { S: 'in_progress' },
            expiresAt: { N: String(now + this.claimSeconds) },
          },
          // Never seen, or claimed by an invocation that did not finish in time.
          ConditionExpression: 'attribute_not_exists(eventId) OR (#state = :inProgress AND expiresAt < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':inProgress': { S: 'in_progress' }, ':now': { N: String(now) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (error.Item?.state?.S === 'done') return 'done';
      throw new EventInProgressError(eventId, { cause: error });
    }
  }

  async complete(eventId: string): Promise<void> {
    const keepUntil = Math.floor(Date.now() / 1000) + this.keepSeconds;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { eventId: { S: eventId } },
        UpdateExpression: 'SET #state = :done, expiresAt = :keepUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':done': { S: 'done' }, ':keepUntil': { N: String(keepUntil) } },
      }),
    );
  }

  async release(eventId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { eventId: { S: eventId } } }),
    );
  }
}
