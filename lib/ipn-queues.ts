import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface IpnQueuesProps {
  /** Receives of a message before it moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** The consumer's timeout: a message must stay invisible while a consumer may still hold it. */
  readonly consumerTimeout: Duration;
  /** How long the event source may wait to fill a batch, which also counts against the visibility. */
  readonly maxBatchingWindow: Duration;
}

/**
 * The buffer between ingest and the consumer: the queue of stored IPN references and its dead-letter
 * queue.
 */
export class IpnQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: IpnQueuesProps) {
    super(scope, id);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time to find the cause and redrive before a message expires. A moved
      // message keeps its first enqueue time, hence the main queue keeps messages for less.
      retentionPeriod: Duration.days(14),
    });

    // AWS's advice for queues feeding Lambda: at least six times the function timeout (plus the
    // batching window), so a retried invocation never sees a message another one still processes.
    this.visibilityTimeout = Duration.seconds(
      6 * props.consumerTimeout.toSeconds() + props.maxBatchingWindow.toSeconds(),
    );

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      // SQS's default, said out loud: the consumer drains in seconds and the OldestMessageAge alarm
      // fires long before, and a message moved to the DLQ keeps at least 10 of its 14 days there.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
