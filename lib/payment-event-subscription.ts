import { CfnOutput, Duration, Stack, Token, TokenComparison, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  type EventPattern as CdkEventPattern,
  type CfnRule,
  EventBus,
  type IEventBus,
  type IRuleRef,
  type IRuleTarget,
  Rule,
  type RuleTargetConfig,
} from 'aws-cdk-lib/aws-events';
import {
  addToDeadLetterQueueResourcePolicy,
  EventBus as EventBusTarget,
  LambdaFunction,
  SqsQueue,
} from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SUBSCRIBER_NAME } from '../functions/replay/selection.ts';
import type { EventPattern } from '../functions/shared/event-pattern-matcher.ts';
import { DELIVERY_MODES, type DeliveryMode } from '../functions/shared/rules/subscription-pattern.ts';
import { PaymentEventPatternError, PaymentEventSubscriptionError } from './errors.ts';
import { paymentEventPattern, withReplayClause } from './payment-event-pattern.ts';

/** Where a subscription delivers: any EventBridge target, or a queue or function of this stack's account. */
export type SubscriptionTarget = IRuleTarget | IQueue | IFunction;

export interface PaymentEventSubscriptionProps {
  /**
   * The pipeline's bus: an `IEventBus`, or its ARN (the pipeline stack's `EventBusArn` output). A bus in
   * another account is subscribed through a bus of this stack's account (see the class comment); that
   * account must be in the pipeline's `subscriberAccountIds` setting.
   */
  readonly bus: IEventBus | string;
  /**
   * The subscription's name: its rule's name on the pipeline's bus (so it is unique there), the name in
   * its resources and outputs, and what `npx okepay replay --subscriber NAME` sends a replay to. 1 to 64
   * letters, digits, "-" or "_".
   */
  readonly name: string;
  /**
   * Which payment events, as an EventBridge pattern on the canonical event: build it with
   * `paymentEventPattern({ eventTypes, currencies, amount, orderRefPrefix, detail })`, or write it. It must
   * not name `detail.replay.subscriber` (nor `detail.replay.replayId` unless `deliver` is `both`). Default:
   * every payment event of source `okepay`.
   */
  readonly eventPattern?: EventPattern;
  /**
   * `live`: live events only. `replays`: replays only, those for every subscriber and those for this one.
   * `both`: live events and those replays. A replay aimed at another subscriber never matches. Default
   * `live`: a subscriber whose action must not repeat (an e-mail to a customer) is safe by default; one
   * that should be able to recover from its dead-letter queue by replay needs `both`.
   */
  readonly deliver?: DeliveryMode;
  /**
   * Where the matched events go: an SQS queue or a Lambda function of this stack's account and Region
   * (the queue's policy or the function's permission is added), or any EventBridge target
   * (`aws-cdk-lib/aws-events-targets`) given without its own dead-letter queue or retry policy: the
   * subscription sets both.
   */
  readonly target: SubscriptionTarget;
  /** How long EventBridge keeps retrying a delivery the target refuses (1 minute to 24 hours). Default 24 hours. */
  readonly maxEventAge?: Duration;
  /** How many times EventBridge retries a delivery within `maxEventAge` (0 to 185). Default 185. */
  readonly retryAttempts?: number;
  /** How long an event may wait in the dead-letter queue before the age alarm (1 hour to 13 days). Default 24 hours. */
  readonly deadLetterAgeAlarm?: Duration;
  /** The alarms notify this topic, on alarm and on recovery. Default: none (they only show in CloudWatch). */
  readonly alarmTopic?: ITopic;
  /** Where the alarm descriptions send the reader. */
  readonly runbook?: string;
  /** The pipeline's stack name, for the replay command in the outputs. Default `OkePayPipeline`. */
  readonly pipelineStackName?: string;
  /** Create the CloudFormation outputs (rule, dead-letter queue, replay command). Default true. */
  readonly outputs?: boolean;
  readonly description?: string;
}

/**
 * EventBridge's own defaults, said out loud: a target that is down for up to a day gets every event once
 * it is back, without anyone acting. Past that, the event waits 14 days in the dead-letter queue, and the
 * pipeline's table keeps it for `eventRetentionDays` to be replayed.
 */
export const DEFAULT_MAX_EVENT_AGE = Duration.hours(24);
export const DEFAULT_RETRY_ATTEMPTS = 185;
const DEFAULT_DEAD_LETTER_AGE_ALARM = Duration.hours(24);
/** Its messages arrive straight from EventBridge, so SQS keeps each 14 days from its arrival. */
const DEAD_LETTER_RETENTION = Duration.days(14);
const DEFAULT_RUNBOOK = 'okepay-pipeline docs/DEPLOY.md, "When a subscription alarm fires"';
const PERIOD = Duration.minutes(5);

/**
 * The bus is in another account when its ARN says so. An account the synth cannot know (a stack without
 * `env`, next to a bus ARN that names one) would make the choice a guess, so it is refused.
 */
function isInOtherAccount(scope: Construct, name: string, bus: IEventBus): boolean {
  const stack = Stack.of(scope);
  const region = Token.compareStrings(bus.env.region, stack.region);
  if (region === TokenComparison.DIFFERENT) {
    throw new PaymentEventSubscriptionError(
      name,
      `the bus is in ${bus.env.region} and this stack in ${stack.region}: a rule lives in its bus's Region, so ` +
        `deploy the subscriber stack in ${bus.env.region}`,
    );
  }
  switch (Token.compareStrings(bus.env.account, stack.account)) {
    case TokenComparison.DIFFERENT:
      return true;
    case TokenComparison.ONE_UNRESOLVED:
      throw new PaymentEventSubscriptionError(
        name,
        `cannot tell whether the bus (account ${bus.env.account}) is in this stack's account (${stack.account}): ` +
          'give the stack an env with its account, or import a bus of this account with EventBus.fromEventBusName',
      );
    default:
      return false;
  }
}

/** The target as EventBridge's `IRuleTarget`; a queue or function gets the permission EventBridge needs. */
function asRuleTarget(target: SubscriptionTarget): IRuleTarget {
  if ('queueArn' in target) return new SqsQueue(target);
  if ('functionArn' in target) return new LambdaFunction(target);
  return target;
}

/**
 * One subscription to the canonical payment events: a rule on the pipeline's bus with the subscriber's
 * pattern and delivery mode, delivering to its target with a retry policy and a dead-letter queue of its
 * own (SQS, SSE, TLS only, 14 days), alarms on failed deliveries and on the dead-letter queue, and outputs
 * with what an operator needs.
 *
 * A bus in another account: the rule is created on that bus (EventBridge takes the bus's ARN as
 * `EventBusName`; CDK's `Rule` would use the name, i.e. a bus of this account) and forwards to a bus of
 * this account (`inbox`), where a second rule of the same name and pattern invokes the target. The hop is
 * needed because EventBridge invokes a target in another account only with a role of the bus's account,
 * which a subscriber cannot pass. See docs/DEPLOY.md, "Subscribe" > "From another account", for what is and
 * is not verified there.
 */
export class PaymentEventSubscription extends Construct {
  readonly name: string;
  readonly deliver: DeliveryMode;
  /** The pattern deployed: the subscriber's, plus the clause of `deliver`. */
  readonly eventPattern: EventPattern;
  /** The rule on the pipeline's bus. */
  readonly rule: Rule;
  /** The rule that invokes the target: `rule`, or for another account's bus the rule on `inbox`. */
  readonly deliveryRule: Rule;
  /** The bus of this account the events are forwarded to, when the pipeline's bus is in another account. */
  readonly inbox: EventBus | undefined;
  readonly deadLetterQueue: Queue;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: PaymentEventSubscriptionProps) {
    super(scope, id);
    const { name } = props;
    const fail = (problem: string, options?: ErrorOptions): never => {
      throw new PaymentEventSubscriptionError(name, problem, options);
    };
    if (typeof name !== 'string' || !SUBSCRIBER_NAME.test(name)) {
      fail(
        'the name must be 1 to 64 letters, digits, "-" or "_" (it is a rule name and a --subscriber value)',
      );
    }
    const deliver = props.deliver ?? 'live';
    if (!DELIVERY_MODES.includes(deliver))
      fail(`deliver must be one of ${DELIVERY_MODES.join(', ')}, got ${deliver}`);
    const maxEventAge = props.maxEventAge ?? DEFAULT_MAX_EVENT_AGE;
    const maxEventAgeSeconds = maxEventAge.toSeconds();
    if (!Number.isInteger(maxEventAgeSeconds) || maxEventAgeSeconds < 60 || maxEventAgeSeconds > 86_400) {
      fail(
        `maxEventAge must be a whole number of seconds from 1 minute to 24 hours, got ${maxEventAge.toHumanString()}`,
      );
    }
    const retryAttempts = props.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
      fail(`retryAttempts must be an integer from 0 to 185, got ${retryAttempts}`);
    }
    const ageAlarm = props.deadLetterAgeAlarm ?? DEFAULT_DEAD_LETTER_AGE_ALARM;
    if (ageAlarm.toSeconds() < 3600 || ageAlarm.toSeconds() > Duration.days(13).toSeconds()) {
      fail(
        `deadLetterAgeAlarm must be from 1 hour to 13 days (SQS deletes a dead letter after 14), got ${ageAlarm.toHumanString()}`,
      );
    }

    this.name = name;
    this.deliver = deliver;
    try {
      this.eventPattern = withReplayClause(props.eventPattern ?? paymentEventPattern(), name, deliver);
    } catch (error) {
      if (error instanceof PaymentEventPatternError) fail(error.message, { cause: error });
      throw error;
    }

    const bus =
      typeof props.bus === 'string' ? EventBus.fromEventBusArn(this, 'PipelineBus', props.bus) : props.bus;
    const crossAccount = isInOtherAccount(this, name, bus);
    const description =
      props.description ?? `okePay payment events for subscription ${name} (deliver: ${deliver})`;

    // Replays to this subscriber can rebuild what a failure dropped, and the pipeline's table holds
    // every event, so losing this queue with the stack loses nothing that cannot be replayed.
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of an EventBridge rule target: it receives what the target refused, ' +
        'and a dead-letter queue has none of its own. Alarms watch its depth and age.',
    });

    const target = withDeadLetterQueue(name, asRuleTarget(props.target), this.deadLetterQueue, {
      maximumEventAgeInSeconds: maxEventAgeSeconds,
      maximumRetryAttempts: retryAttempts,
    });
    if (crossAccount) {
      this.inbox = new EventBus(this, 'Inbox', {
        description: `okePay payment events forwarded for subscription ${name}`,
      });
      // No retry policy: EventBridge supports none for event bus targets. Its failures go to the same
      // dead-letter queue, marked with this rule's ARN.
      this.rule = new Rule(this, 'Forward', {
        ruleName: name,
        description,
        eventBus: bus,
        eventPattern: toCdkEventPattern(this.eventPattern),
        targets: [new EventBusTarget(this.inbox, { deadLetterQueue: this.deadLetterQueue })],
      });
      // A rule on another account's bus is addressed by the bus's ARN.
      (this.rule.node.defaultChild as CfnRule).eventBusName = bus.eventBusArn;
      this.deliveryRule = new Rule(this, 'Rule', {
        ruleName: name,
        description,
        eventBus: this.inbox,
        eventPattern: toCdkEventPattern(this.eventPattern),
        targets: [target],
      });
    } else {
      this.inbox = undefined;
      this.rule = new Rule(this, 'Rule', {
        ruleName: name,
        description,
        eventBus: bus,
        eventPattern: toCdkEventPattern(this.eventPattern),
        targets: [target],
      });
      this.deliveryRule = this.rule;
    }

    this.createAlarms({
      busName: (this.inbox ?? bus).eventBusName,
      ageAlarm,
      topic: props.alarmTopic,
      runbook: props.runbook ?? DEFAULT_RUNBOOK,
    });
    if (props.outputs ?? true) this.createOutputs(bus, props.pipelineStackName ?? 'OkePayPipeline');
  }

  /** An AWS/Events metric of the rule that invokes the target (custom buses need both dimensions). */
  metricOfDeliveryRule(metricName: string, busName: string): Metric {
    // The literal name, not deliveryRule.ruleName: for a rule on a custom bus, CloudFormation's Ref is
    // "bus|rule", which matches no metric.
    return new Metric({
      namespace: 'AWS/Events',
      metricName,
      dimensionsMap: { EventBusName: busName, RuleName: this.name },
      statistic: Stats.SUM,
      period: PERIOD,
    });
  }

  private createAlarms(options: { busName: string; ageAlarm: Duration; topic?: ITopic; runbook: string }) {
    const { busName, ageAlarm, topic, runbook } = options;
    const alarm = (
      id: string,
      metric: IMetric,
      threshold: number,
      description: string,
      operator?: ComparisonOperator,
    ) => {
      const created = new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: operator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // These metrics are only published when something happens.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Subscription ${this.name}: ${description} What to do: ${runbook}.`,
      });
      if (topic) {
        created.addAlarmAction(new SnsAction(topic));
        created.addOkAction(new SnsAction(topic));
      }
      this.alarms.push(created);
    };
    alarm(
      'FailedDeliveries',
      this.metricOfDeliveryRule('FailedInvocations', busName),
      1,
      'EventBridge gave up delivering matched payment events to the target (retries exhausted, or an error it ' +
        'does not retry: a missing permission, a deleted target). They are in the dead-letter queue.',
    );
    alarm(
      'LostDeliveries',
      this.metricOfDeliveryRule('InvocationsFailedToBeSentToDlq', busName),
      1,
      'Failed deliveries could not be written to the dead-letter queue either (its policy, or the queue is ' +
        'gone): those events are lost to this subscription until they are replayed.',
    );
    alarm(
      'DeadLetterQueueNotEmpty',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: Stats.MAXIMUM,
        period: PERIOD,
      }),
      0,
      'payment events wait in the dead-letter queue: the target has not received them.',
      ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    alarm(
      'DeadLetterQueueAge',
      this.deadLetterQueue.metricApproximateAgeOfOldestMessage({ statistic: Stats.MAXIMUM, period: PERIOD }),
      ageAlarm.toSeconds(),
      `an event has waited ${ageAlarm.toHumanString()} in the dead-letter queue; SQS deletes it 14 days after ` +
        'it arrived.',
    );
  }

  private createOutputs(bus: IEventBus, pipelineStackName: string) {
    const region = Token.isUnresolved(bus.env.region) ? '' : ` --region ${bus.env.region}`;
    const replays = this.deliver === 'live' ? ' (takes no replays until deliver is "both" or "replays")' : '';
    const outputs: Record<string, { value: string; description: string }> = {
      RuleName: { value: this.name, description: `Rule of subscription ${this.name} on the pipeline's bus` },
      RuleArn: { value: this.rule.ruleArn, description: `ARN of the rule of subscription ${this.name}` },
      DeadLetterQueueUrl: {
        value: this.deadLetterQueue.queueUrl,
        description: `Dead-letter queue of subscription ${this.name}: what its target refused`,
      },
      DeadLetterQueueArn: {
        value: this.deadLetterQueue.queueArn,
        description: `ARN of the dead-letter queue of subscription ${this.name}`,
      },
      ReplayCommand: {
        value:
          `npx okepay replay --stack ${pipelineStackName}${region} --subscriber ${this.name} ` +
          '--since <first failure> --until <fix> --dry-run',
        description: `Replays stored events to subscription ${this.name} only${replays}; drop --dry-run to publish`,
      },
    };
    for (const [key, output] of Object.entries(outputs)) new CfnOutput(this, key, output);
  }
}

/**
 * The target with the subscription's dead-letter queue and retry policy. A target that brings its own
 * is refused rather than silently overridden: its author expected those to apply.
 */
function withDeadLetterQueue(
  name: string,
  target: IRuleTarget,
  deadLetterQueue: IQueue,
  retryPolicy: CfnRule.RetryPolicyProperty,
): IRuleTarget {
  return {
    bind(rule: IRuleRef, id?: string): RuleTargetConfig {
      const config = target.bind(rule, id);
      if (config.deadLetterConfig || config.retryPolicy) {
        throw new PaymentEventSubscriptionError(
          name,
          'the target has its own deadLetterQueue, retryAttempts or maxEventAge: leave them out, the subscription ' +
            'sets a dead-letter queue, and takes maxEventAge and retryAttempts itself',
        );
      }
      addToDeadLetterQueueResourcePolicy(rule, deadLetterQueue);
      return { ...config, deadLetterConfig: { arn: deadLetterQueue.queueArn }, retryPolicy };
    },
  };
}

/**
 * CDK's `Rule` takes the pattern in its camelCase form and writes `detailType` back as "detail-type",
 * leaving every other key as given: the pattern is deployed exactly as written (and as the project's
 * matcher evaluates it).
 */
function toCdkEventPattern(pattern: EventPattern): CdkEventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...rest, ...(detailType === undefined ? {} : { detailType }) } as CdkEventPattern;
}
