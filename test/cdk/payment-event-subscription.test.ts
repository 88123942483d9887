import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { SnsTopic, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { DeliveryMode } from '../../functions/shared/rules/subscription-pattern.ts';
import { PaymentEventSubscriptionError } from '../../lib/errors.ts';
import { paymentEventPattern, withReplayClause } from '../../lib/payment-event-pattern.ts';
import {
  PaymentEventSubscription,
  type PaymentEventSubscriptionProps,
} from '../../lib/payment-event-subscription.ts';
import { cdkJsonFeatureFlags } from './stack-builder.ts';

const PIPELINE_ACCOUNT = '111122223333';
const SUBSCRIBER_ACCOUNT = '444455556666';
const REGION = 'eu-west-1';
const busArn = (account: string, region = REGION) =>
  `arn:aws:events:${region}:${account}:event-bus/okepay-payments`;

interface Built {
  stack: Stack;
  subscription: PaymentEventSubscription;
  template: Template;
}

/**
 * A subscriber stack in the pipeline's account (or in `account`), subscribing `name` to the bus
 * `okepay-payments` with a queue of its own unless the props say otherwise.
 */
function subscribe(
  props: Partial<PaymentEventSubscriptionProps> = {},
  env: { account?: string; region?: string } = { account: PIPELINE_ACCOUNT, region: REGION },
): Built {
  const app = new App({ context: cdkJsonFeatureFlags() });
  const stack = new Stack(app, 'Subscriber', { env });
  const subscription = new PaymentEventSubscription(stack, 'Ledger', {
    bus: props.bus ?? EventBus.fromEventBusName(stack, 'Bus', 'okepay-payments'),
    name: 'ledger',
    target: props.target ?? new Queue(stack, 'Inbox', { enforceSSL: true }),
    ...props,
  });
  return { stack, subscription, template: Template.fromStack(stack) };
}

/** The construct's error for these props, or a failure when there is none. */
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(PaymentEventSubscriptionError);
    return (error as Error).message;
  }
  throw new Error('expected a PaymentEventSubscriptionError');
}

const sameAccount = subscribe();
const rules = (template: Template) => Object.values(template.findResources('AWS::Events::Rule'));

describe('the subscription rule', () => {
  it('is one rule on the pipeline’s bus, named after the subscription', () => {
    sameAccount.template.resourceCountIs('AWS::Events::Rule', 1);
    sameAccount.template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'ledger',
      EventBusName: 'okepay-payments',
      State: 'ENABLED',
      Description: 'okePay payment events for subscription ledger (deliver: live)',
    });
  });

  it('takes every live payment event by default', () => {
    sameAccount.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['okepay'], detail: { replay: { replayId: [{ exists: false }] } } },
    });
  });

  it.each<DeliveryMode>(['live', 'replays', 'both'])(
    'deploys the pattern with the clause of deliver %s',
    (deliver) => {
      const eventPattern = paymentEventPattern({ eventTypes: ['payment.succeeded'], currencies: ['EUR'] });
      const { template, subscription } = subscribe({ eventPattern, deliver });
      const expected = withReplayClause(eventPattern, 'ledger', deliver);
      expect(subscription.eventPattern).toEqual(expected);
      template.hasResourceProperties('AWS::Events::Rule', { EventPattern: expected });
    },
  );

  it('deploys the helpers’ pattern as written: detail-type, numeric ranges, prefixes', () => {
    const eventPattern = paymentEventPattern({
      eventTypes: ['payment.refunded'],
      amount: { above: 1000, atMost: 5000 },
      orderRefPrefix: ['SHOP-B-'],
    });
    subscribe({ eventPattern, deliver: 'both' }).template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': ['payment.refunded'],
        detail: Match.objectLike({
          amount: { number: [{ numeric: ['>', 1000, '<=', 5000] }] },
          orderRef: [{ prefix: 'SHOP-B-' }],
        }),
      },
    });
  });

  it('refuses a pattern that sets the replay clause itself, naming the subscription', () => {
    const message = refusal(() =>
      subscribe({ eventPattern: { source: ['okepay'], detail: { replay: { subscriber: ['ledger'] } } } }),
    );
    expect(message).toMatch(
      /subscription "ledger".*detail\.replay\.subscriber, which the subscription sets/s,
    );
  });

  it.each(['', 'has space', 'dotted.name', 'x'.repeat(65), 'ümlaut', 'a/b'])(
    'refuses the name %j',
    (name) => {
      expect(refusal(() => subscribe({ name }))).toMatch(/1 to 64 letters, digits, "-" or "_"/);
    },
  );

  it.each(['ledger', 'crm_sync-2', 'A'.repeat(64)])('takes the name %j', (name) => {
    expect(subscribe({ name }).subscription.rule).toBeDefined();
  });

  it('refuses a delivery mode it does not know', () => {
    expect(refusal(() => subscribe({ deliver: 'all' as DeliveryMode }))).toMatch(
      /deliver must be one of live, replays, both/,
    );
  });
});

describe('the target', () => {
  const dlqArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerDeadLetterQueue'), 'Arn'] };
  const ruleArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerRule'), 'Arn'] };

  it('gets the dead-letter queue and EventBridge’s longest retry policy: 24 hours, 185 attempts', () => {
    sameAccount.template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Inbox'), 'Arn'] },
          DeadLetterConfig: { Arn: dlqArn },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it('takes a shorter retry policy', () => {
    subscribe({ maxEventAge: Duration.hours(1), retryAttempts: 10 }).template.hasResourceProperties(
      'AWS::Events::Rule',
      {
        Targets: [
          Match.objectLike({ RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 } }),
        ],
      },
    );
  });

  it.each([
    [{ retryAttempts: 186 }, /retryAttempts must be an integer from 0 to 185, got 186/],
    [{ retryAttempts: 1.5 }, /retryAttempts must be an integer/],
    [
      { maxEventAge: Duration.seconds(30) },
      /maxEventAge must be a whole number of seconds from 1 minute to 24 hours/,
    ],
    [{ maxEventAge: Duration.hours(25) }, /maxEventAge must be/],
    [{ deadLetterAgeAlarm: Duration.days(14) }, /deadLetterAgeAlarm must be from 1 hour to 13 days/],
  ])('refuses %j', (props, message) => {
    expect(refusal(() => subscribe(props))).toMatch(message);
  });

  it('may be a queue: EventBridge may send to it, from this rule only', () => {
    sameAccount.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('^Inbox') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
          }),
        ]),
      },
    });
  });

  it('may be a function: EventBridge may invoke it, from this rule only', () => {
    const app = new App({ context: cdkJsonFeatureFlags() });
    const stack = new Stack(app, 'Subscriber', { env: { account: PIPELINE_ACCOUNT, region: REGION } });
    const fn = new LambdaFunction(stack, 'Handler', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => {};'),
    });
    new PaymentEventSubscription(stack, 'Ledger', {
      bus: busArn(PIPELINE_ACCOUNT),
      name: 'ledger',
      target: fn,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: ruleArn,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Handler'), 'Arn'] },
          DeadLetterConfig: { Arn: dlqArn },
        }),
      ],
    });
  });

  it('may be any EventBridge target, which gets the dead-letter queue and retry policy too', () => {
    const app = new App({ context: cdkJsonFeatureFlags() });
    const stack = new Stack(app, 'Subscriber', { env: { account: PIPELINE_ACCOUNT, region: REGION } });
    const topic = new Topic(stack, 'Notifications', { enforceSSL: true });
    new PaymentEventSubscription(stack, 'Ledger', {
      bus: busArn(PIPELINE_ACCOUNT),
      name: 'ledger',
      target: new SnsTopic(topic),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^Notifications') },
          DeadLetterConfig: { Arn: dlqArn },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        }),
      ],
    });
  });

  it('refuses a target that brings its own dead-letter queue or retry policy', () => {
    const message = refusal(() => {
      const app = new App({ context: cdkJsonFeatureFlags() });
      const stack = new Stack(app, 'Subscriber', { env: { account: PIPELINE_ACCOUNT, region: REGION } });
      const queue = new Queue(stack, 'Inbox', { enforceSSL: true });
      new PaymentEventSubscription(stack, 'Ledger', {
        bus: busArn(PIPELINE_ACCOUNT),
        name: 'ledger',
        target: new SqsQueue(queue, { retryAttempts: 3 }),
      });
    });
    expect(message).toMatch(/the target has its own deadLetterQueue, retryAttempts or maxEventAge/);
  });
});

describe('the dead-letter queue', () => {
  const dlq = () =>
    Object.values(sameAccount.template.findResources('AWS::SQS::Queue')).find((queue) =>
      JSON.stringify(queue).includes('1209600'),
    );

  it('is encrypted by SQS and keeps what the target refused 14 days', () => {
    expect(dlq()?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('refuses requests without TLS and takes messages from EventBridge for this rule only', () => {
    sameAccount.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('^LedgerDeadLetterQueue') }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerRule'), 'Arn'] },
              },
            },
          }),
        ],
      },
    });
  });
});

describe('the alarms', () => {
  const alarmsOf = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm'));

  it('are four: failed deliveries, deliveries lost, dead letters waiting, and waiting long', () => {
    expect(sameAccount.subscription.alarms).toHaveLength(4);
    sameAccount.template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });

  it.each(['FailedInvocations', 'InvocationsFailedToBeSentToDlq'])(
    'fire on any %s of the rule, with the dimensions of a rule on a custom bus',
    (metricName) => {
      sameAccount.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Events',
        MetricName: metricName,
        Dimensions: [
          { Name: 'EventBusName', Value: 'okepay-payments' },
          { Name: 'RuleName', Value: 'ledger' },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    },
  );

  it('fire when the dead-letter queue holds any message', () => {
    sameAccount.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerDeadLetterQueue'), 'QueueName'] },
        },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('fire when a dead letter has waited 24 hours, or as long as asked', () => {
    const ageAlarm = (template: Template) =>
      alarmsOf(template).find((alarm) => alarm.Properties.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(ageAlarm(sameAccount.template)?.Properties.Threshold).toBe(86_400);
    expect(
      ageAlarm(subscribe({ deadLetterAgeAlarm: Duration.hours(6) }).template)?.Properties.Threshold,
    ).toBe(6 * 3600);
  });

  it('say whose they are and where the runbook is', () => {
    for (const alarm of alarmsOf(sameAccount.template)) {
      expect(alarm.Properties.AlarmDescription).toMatch(
        /^Subscription ledger: .* What to do: okepay-pipeline docs\/DEPLOY\.md/,
      );
    }
  });

  it('notify the alarm topic on alarm and on recovery', () => {
    const app = new App({ context: cdkJsonFeatureFlags() });
    const stack = new Stack(app, 'Subscriber', { env: { account: PIPELINE_ACCOUNT, region: REGION } });
    const alarmTopic = new Topic(stack, 'Alarms', { enforceSSL: true });
    new PaymentEventSubscription(stack, 'Ledger', {
      bus: busArn(PIPELINE_ACCOUNT),
      name: 'ledger',
      target: new Queue(stack, 'Inbox', { enforceSSL: true }),
      alarmTopic,
    });
    const topicRef = { Ref: expect.stringMatching(/^Alarms/) };
    for (const alarm of alarmsOf(Template.fromStack(stack))) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topicRef], OKActions: [topicRef] });
    }
  });
});

/** The output whose logical id starts with the construct's id and `key` (CDK appends a hash). */
function output(template: Template, key: string) {
  const found = Object.entries(template.findOutputs('*')).filter(([id]) =>
    new RegExp(`^Ledger${key}[0-9A-F]{8}$`).test(id),
  );
  expect(found).toHaveLength(1);
  return found[0]?.[1];
}

describe('the outputs', () => {
  it.each([
    ['RuleName', 'ledger'],
    ['RuleArn', { 'Fn::GetAtt': [expect.stringMatching(/^LedgerRule/), 'Arn'] }],
    ['DeadLetterQueueUrl', { Ref: expect.stringMatching(/^LedgerDeadLetterQueue/) }],
    ['DeadLetterQueueArn', { 'Fn::GetAtt': [expect.stringMatching(/^LedgerDeadLetterQueue/), 'Arn'] }],
    [
      'ReplayCommand',
      'npx okepay replay --stack OkePayPipeline --region eu-west-1 --subscriber ledger --since <first failure> --until <fix> --dry-run',
    ],
  ])('give %s', (key, value) => {
    expect(output(sameAccount.template, key)?.Value).toEqual(value);
  });

  it('name the pipeline stack given in the replay command, and say when replays cannot reach it', () => {
    const { template } = subscribe({ pipelineStackName: 'OkePayPipeline-staging' });
    expect(output(template, 'ReplayCommand')).toMatchObject({
      Value: expect.stringContaining('--stack OkePayPipeline-staging '),
      Description: expect.stringContaining('takes no replays until deliver is "both" or "replays"'),
    });
    expect(output(subscribe({ deliver: 'both' }).template, 'ReplayCommand')?.Description).not.toContain(
      'takes no replays',
    );
  });

  it('are left out on request', () => {
    expect(Object.keys(subscribe({ outputs: false }).template.findOutputs('*'))).toEqual([]);
  });

  it('export nothing', () => {
    for (const output of Object.values(sameAccount.template.findOutputs('*')))
      expect(output.Export).toBeUndefined();
  });
});

describe('a bus given by ARN', () => {
  it('in this stack’s account is subscribed directly, by name', () => {
    const { template, subscription } = subscribe({ bus: busArn(PIPELINE_ACCOUNT) });
    expect(subscription.inbox).toBeUndefined();
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'okepay-payments' });
  });

  describe('in another account', () => {
    const { template, subscription } = subscribe(
      { bus: busArn(PIPELINE_ACCOUNT), deliver: 'both' },
      { account: SUBSCRIBER_ACCOUNT, region: REGION },
    );
    const inboxArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerInbox'), 'Arn'] };
    const forward = () =>
      rules(template).find((rule) => rule.Properties.EventBusName === busArn(PIPELINE_ACCOUNT));
    const delivery = () => rules(template).find((rule) => rule !== forward());

    it('creates the rule on that bus, addressed by its ARN, with the same name and pattern', () => {
      expect(rules(template)).toHaveLength(2);
      expect(forward()?.Properties).toMatchObject({
        Name: 'ledger',
        EventPattern: subscription.eventPattern,
      });
      expect(subscription.rule.node.path).toBe('Subscriber/Ledger/Forward');
    });

    it('forwards to a bus of this account, with a role of this account and the dead-letter queue', () => {
      expect(forward()?.Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^LedgerInbox/), 'Arn'] }),
          RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^LedgerForwardEventsRole/), 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [expect.stringMatching(/^LedgerDeadLetterQueue/), 'Arn'] },
          },
        }),
      ]);
      // EventBridge supports no retry policy for an event bus target.
      expect(forward()?.Properties.Targets[0].RetryPolicy).toBeUndefined();
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: inboxArn }] },
      });
    });

    it('invokes the target from a rule of the same name and pattern on that bus', () => {
      expect(delivery()?.Properties).toMatchObject({
        Name: 'ledger',
        EventBusName: { Ref: expect.stringMatching(/^LedgerInbox/) },
        EventPattern: subscription.eventPattern,
      });
      expect(delivery()?.Properties.Targets[0]).toMatchObject({
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
      });
      expect(subscription.deliveryRule).not.toBe(subscription.rule);
    });

    it('alarms on the rule of this account, whose metrics are published here', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'FailedInvocations',
        Dimensions: [
          { Name: 'EventBusName', Value: { Ref: Match.stringLikeRegexp('^LedgerInbox') } },
          { Name: 'RuleName', Value: 'ledger' },
        ],
      });
    });

    it('lets both rules write to the dead-letter queue', () => {
      const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((candidate) =>
        JSON.stringify(candidate).includes('LedgerDeadLetterQueue'),
      );
      const sources = policy?.Properties.PolicyDocument.Statement.flatMap(
        (statement: { Condition?: { ArnEquals?: { 'aws:SourceArn': { 'Fn::GetAtt': string[] } } } }) =>
          statement.Condition?.ArnEquals
            ? [statement.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0]]
            : [],
      );
      expect(sources).toEqual([
        expect.stringMatching(/^LedgerForward/),
        expect.stringMatching(/^LedgerRule/),
      ]);
    });
  });

  it('refuses a bus in another Region: a rule lives in its bus’s Region', () => {
    expect(refusal(() => subscribe({ bus: busArn(PIPELINE_ACCOUNT, 'us-east-1') }))).toMatch(
      /the bus is in us-east-1 and this stack in eu-west-1/,
    );
  });

  it('refuses to guess the account when the stack has none', () => {
    expect(refusal(() => subscribe({ bus: busArn(PIPELINE_ACCOUNT) }, {}))).toMatch(
      /cannot tell whether the bus \(account 111122223333\) is in this stack's account/,
    );
  });

  it('is not needed for a bus of the same app without an account: same account, by name', () => {
    const { template } = subscribe({}, {});
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'okepay-payments' });
  });
});
