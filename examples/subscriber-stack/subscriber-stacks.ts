/**
 * Two downstream teams subscribing to the okePay payment events with `PaymentEventSubscription`:
 * fulfilment in the pipeline's own account, with an SQS queue, and refunds in another account, with a
 * Lambda function. Each gets its rule, a dead-letter queue, alarms and outputs from the construct; what
 * is left here is the team's own target. `app.ts` synthesizes both (with cdk-nag's checks), and
 * test/cdk/subscriber-stack.test.ts does the same in CI.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { paymentEventPattern } from '../../lib/payment-event-pattern.ts';
import { PaymentEventSubscription } from '../../lib/payment-event-subscription.ts';

export interface FulfilmentStackProps extends StackProps {
  /** The pipeline's bus, by name (the `eventBusName` setting, or the `EventBusName` output). */
  readonly okepayBusName: string;
  readonly oncallEmail: string;
}

/** Same account: every succeeded payment, live and replayed, into the fulfilment team's queue. */
export class FulfilmentStack extends Stack {
  readonly subscription: PaymentEventSubscription;

  constructor(scope: Construct, id: string, props: FulfilmentStackProps) {
    super(scope, id, props);
    const alarms = new Topic(this, 'Alarms', { enforceSSL: true });
    alarms.addSubscription(new EmailSubscription(props.oncallEmail));

    // The team's own queue, with its own dead-letter queue for messages its consumer cannot process. The
    // subscription's dead-letter queue is another one: what EventBridge could not put into this queue.
    const paidOrders = new Queue(this, 'PaidOrders', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(2),
      deadLetterQueue: {
        maxReceiveCount: 5,
        queue: new Queue(this, 'PaidOrdersFailed', {
          encryption: QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: Duration.days(14),
        }),
      },
    });

    this.subscription = new PaymentEventSubscription(this, 'Fulfilment', {
      bus: EventBus.fromEventBusName(this, 'OkePayBus', props.okepayBusName),
      name: 'fulfilment',
      eventPattern: paymentEventPattern({ eventTypes: ['payment.succeeded'] }),
      // Fulfilment dedupes on detail.eventId, so replays are safe, and a replay to this subscription
      // alone is how it recovers what its dead-letter queue holds.
      deliver: 'both',
      target: paidOrders,
      alarmTopic: alarms,
    });
  }
}

export interface RefundsStackProps extends StackProps {
  /** The pipeline's bus, by ARN (the `EventBusArn` output), in another account of the same Region. */
  readonly okepayBusArn: string;
  readonly oncallEmail: string;
}

/**
 * Another account: EUR refunds and chargebacks of 100 or more, live only, into a Lambda function. The
 * pipeline must list this stack's account in its `subscriberAccountIds` setting.
 */
export class RefundsStack extends Stack {
  readonly subscription: PaymentEventSubscription;

  constructor(scope: Construct, id: string, props: RefundsStackProps) {
    super(scope, id, props);
    const alarms = new Topic(this, 'Alarms', { enforceSSL: true });
    alarms.addSubscription(new EmailSubscription(props.oncallEmail));

    const logs = new LogGroup(this, 'NotifierLogs', { retention: RetentionDays.THREE_MONTHS });
    const role = new Role(this, 'NotifierRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logs.logGroupArn],
      }),
    );
    const notifier = new LambdaFunction(this, 'Notifier', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      // Stands in for the team's code: it would tell the customer, at most once per detail.eventId.
      code: Code.fromInline(
        'exports.handler = async (event) => { console.log(JSON.stringify({ eventId: event.detail.eventId })); };',
      ),
      role,
      logGroup: logs,
    });

    this.subscription = new PaymentEventSubscription(this, 'Refunds', {
      bus: props.okepayBusArn,
      name: 'refund-notifier',
      eventPattern: paymentEventPattern({
        eventTypes: ['payment.refunded', 'payment.chargeback'],
        currencies: ['EUR'],
        amount: { atLeast: 100 },
      }),
      // A customer must not be told twice: no replays (the default, said out loud).
      deliver: 'live',
      target: notifier,
      alarmTopic: alarms,
      // Fail over to the dead-letter queue within the hour instead of retrying for a day.
      maxEventAge: Duration.hours(1),
    });
  }
}
