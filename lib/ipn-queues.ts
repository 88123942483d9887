import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface IpnQueuesProps {
  /** Receives of a message before it moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /**
   * How long a received message stays invisible: longer than a consumer may hold it
   * (`visibilityTimeoutSeconds` in pipeline-settings.ts derives it from the consumer's timeout).
   */
  readonly visibilityTimeout: Duration;
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
      // Its messages are the pointers to stored events that never reached the bus, with the reason
      // `okepay dlq list` reads from them: deleting the stack (or a change that replaces the queue)
      // must not throw them away with it. Like the table, it is left in place; delete it by hand.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.visibilityTimeout = props.visibilityTimeout;
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      // SQS's default, said out loud: the consumer drains in seconds and the OldestMessageAge alarm
      // fires long before, and a message moved to the DLQ keeps at least 10 of its 14 days there.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      // Messages waiting here are IPNs okePay was told were accepted (2xx) and that subscribers have not
      // seen yet: a stack deletion in the middle of an incident must not drop them. Retained like the
      // table and the DLQ (the sweeper would find the events again in the table, but only while a stack
      // runs it).
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
