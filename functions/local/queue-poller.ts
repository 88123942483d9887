/**
 * Polls the SQS queue and invokes the consumer handler the way Lambda's event source mapping does:
 * batches of up to `batchSize`, filled for up to the batching window, the visibility timeout as the
 * retry delay, and `batchItemFailures` honoured (successful records are deleted; failed ones stay,
 * become visible again after the visibility timeout, and move to the DLQ after the queue's
 * maxReceiveCount).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** Pause between short polls of an empty queue. */
const IDLE_POLL_INTERVAL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface QueuePollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsHandler;
  /** The consumer's timeout, given to the handler as its time budget. */
  functionTimeoutMs: number;
  /** Most records per invocation, as the stack's `batchSize`. Default 10. */
  batchSize?: number;
  /**
   * As the stack's `maxBatchingWindowSeconds`, in ms: once a first message is received, keep receiving
   * for up to this long, or until `batchSize` messages are in hand, before invoking. Default 0: invoke
   * with what the first receive returned.
   */
  maxBatchingWindowMs?: number;
  onError?: (error: unknown) => void;
  /** Called after each batch with what happened to it. */
  onBatch?: (result: { received: number; failed: number }) => void;
}

function toRecord(message: Message, options: QueuePollerOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

function lambdaContext(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'okepay-consumer-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:okepay-consumer-local',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export class QueuePoller {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly options: QueuePollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in flight; a receive waiting for messages is cancelled. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  /**
   * Receives and processes one batch; returns how many messages it received. Short polls by default:
   * local-aws-sqs holds a long poll open for its whole wait to fill the batch, which would add that
   * wait to every event's latency (AWS answers a long poll as soon as there is a message).
   */
  async pollOnce(waitTimeSeconds = 0): Promise<number> {
    const { sqs, queueUrl, handler } = this.options;
    const batchSize = this.options.batchSize ?? 10;
    const windowMs = this.options.maxBatchingWindowMs ?? 0;
    const messages = await this.receive(Math.min(batchSize, 10), waitTimeSeconds);
    if (messages.length === 0) return 0;
    // The batching window, as Lambda's poller keeps it: it opens with the first message and closes when
    // the batch is full or the window has passed, whichever comes first.
    const windowEnds = Date.now() + windowMs;
    while (messages.length < batchSize && Date.now() < windowEnds && !this.abort.signal.aborted) {
      const more = await this.receive(Math.min(batchSize - messages.length, 10), 0);
      messages.push(...more);
      if (more.length === 0) {
        await sleep(Math.min(IDLE_POLL_INTERVAL_MS, Math.max(0, windowEnds - Date.now())));
      }
    }
    const records = messages.map((message) => toRecord(message, this.options));
    let failedIds: Set<string>;
    try {
      const response = await handler({ Records: records }, lambdaContext(this.options.functionTimeoutMs));
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // As in Lambda: a handler that throws fails the whole batch.
      this.options.onError?.(error);
      failedIds = new Set(records.map((record) => record.messageId));
    }
    const succeeded = records.filter((record) => !failedIds.has(record.messageId));
    // DeleteMessageBatch takes 10 entries; a batch may hold more.
    for (let start = 0; start < succeeded.length; start += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.slice(start, start + 10).map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
          })),
        }),
      );
    }
    this.options.onBatch?.({ received: records.length, failed: failedIds.size });
    return records.length;
  }

  /** One ReceiveMessage; an empty list when the poller is being stopped. */
  private async receive(maxMessages: number, waitTimeSeconds: number): Promise<Message[]> {
    try {
      const { Messages = [] } = await this.options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: this.abort.signal },
      );
      return Messages;
    } catch (error) {
      if (this.abort.signal.aborted) return [];
      throw error;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const received = await this.pollOnce();
        if (received === 0) await sleep(IDLE_POLL_INTERVAL_MS);
      } catch (error) {
        if (!this.running) break;
        this.options.onError?.(error);
        await sleep(500);
      }
    }
  }
}
