import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterQueue, MoveTask } from './dead-letter-queue.ts';
import { DeadLetterQueueError } from './errors.ts';

export interface DeadLetterQueueAddresses {
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  /** Where a redrive moves the messages: the queue whose redrive policy names this DLQ. */
  queueArn: string;
}

/**
 * How long a peeked message stays hidden while the peek walks the queue. Receiving with a visibility
 * timeout of 0 would hide nothing, but then every receive may return the same first messages
 * (local-aws-sqs always does, and SQS may), so a queue of more than 10 could never be listed. The
 * messages are made visible again as soon as the walk ends; if the process dies first, they reappear
 * after this long.
 */
const PEEK_HIDE_SECONDS = 30;
/** Long polling asks every SQS server, so an empty answer means empty (short polling samples some). */
const LONG_POLL_SECONDS = 1;

/** {@link DeadLetterQueue} on an SQS DLQ. */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly addresses: DeadLetterQueueAddresses,
  ) {}

  async peek(max: number): Promise<DeadLetter[]> {
    const seen = new Map<string, Message>();
    const handles: string[] = [];
    // Walks until it has seen as many as SQS counts (the count lags a little, so this is as
    // approximate as SQS's own numbers), or until a long poll brings nothing new.
    const expected = Math.min(max, await this.approximateCount());
    let longPoll = false;
    try {
      // Bounded: a pass returns at most 10 messages.
      for (let pass = 0; seen.size < expected && pass < Math.ceil(max / 10) + 5; pass++) {
        const { Messages = [] } = await this.send('ReceiveMessage', () =>
          this.client.send(
            new ReceiveMessageCommand({
              QueueUrl: this.addresses.deadLetterQueueUrl,
              MaxNumberOfMessages: Math.min(10, max - seen.size),
              VisibilityTimeout: PEEK_HIDE_SECONDS,
              WaitTimeSeconds: longPoll ? LONG_POLL_SECONDS : 0,
              MessageSystemAttributeNames: ['SentTimestamp', 'DeadLetterQueueSourceArn'],
              // The deprecated name too: local-aws-sqs reads only this one.
              AttributeNames: ['All'],
            }),
          ),
        );
        let fresh = 0;
        for (const message of Messages) {
          if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
          if (message.MessageId && !seen.has(message.MessageId)) {
            seen.set(message.MessageId, message);
            fresh++;
          }
        }
        if (fresh === 0 && longPoll) break;
        // A short poll asks only some SQS servers; when it finds nothing new, a long poll asks them all.
        longPoll = fresh === 0;
      }
    } finally {
      await this.reveal(handles);
    }
    return [...seen.values()].map((message) => {
      const sent = Number(message.Attributes?.SentTimestamp);
      const sourceArn = message.Attributes?.DeadLetterQueueSourceArn;
      return {
        messageId: message.MessageId ?? '',
        body: message.Body ?? '',
        ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
        ...(sourceArn ? { sourceArn } : {}),
      };
    });
  }

  async approximateCount(): Promise<number> {
    const { Attributes } = await this.send('GetQueueAttributes', () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.addresses.deadLetterQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      ),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? '0');
  }

  async startRedrive(): Promise<void> {
    await this.send('StartMessageMoveTask', () =>
      this.client.send(
        new StartMessageMoveTaskCommand({
          SourceArn: this.addresses.deadLetterQueueArn,
          DestinationArn: this.addresses.queueArn,
        }),
      ),
    );
  }

  async latestRedrive(): Promise<MoveTask | undefined> {
    const { Results = [] } = await this.send('ListMessageMoveTasks', () =>
      this.client.send(
        new ListMessageMoveTasksCommand({ SourceArn: this.addresses.deadLetterQueueArn, MaxResults: 1 }),
      ),
    );
    // Newest first, in SQS and in local-aws-sqs.
    const task = Results[0];
    if (!task) return undefined;
    return {
      status: task.Status ?? 'UNKNOWN',
      moved: task.ApproximateNumberOfMessagesMoved ?? 0,
      ...(task.ApproximateNumberOfMessagesToMove !== undefined
        ? { toMove: task.ApproximateNumberOfMessagesToMove }
        : {}),
      ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
      ...(task.StartedTimestamp ? { startedAt: new Date(task.StartedTimestamp).toISOString() } : {}),
    };
  }

  async purge(): Promise<void> {
    await this.send('PurgeQueue', () =>
      this.client.send(new PurgeQueueCommand({ QueueUrl: this.addresses.deadLetterQueueUrl })),
    );
  }

  /** Makes peeked messages visible again at once. */
  private async reveal(handles: readonly string[]): Promise<void> {
    for (let start = 0; start < handles.length; start += 10) {
      await this.send('ChangeMessageVisibilityBatch', () =>
        this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.addresses.deadLetterQueueUrl,
            Entries: handles.slice(start, start + 10).map((handle, index) => ({
              Id: String(index),
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            })),
          }),
        ),
      );
    }
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new DeadLetterQueueError(operation, { cause: error });
    }
  }
}
