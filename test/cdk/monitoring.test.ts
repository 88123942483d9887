import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE, METRICS } from '../../functions/shared/observability.ts';
import { THROTTLED_REQUESTS_METRIC } from '../../lib/ipn-api.ts';
import { API_4XX_MIN_REQUESTS, NO_ALARM_DESTINATION_WARNING } from '../../lib/monitoring.ts';
import { SERVICE_NAMES } from '../../lib/service-names.ts';
import { buildApp, buildTemplate, directoryWith } from './stack-builder.ts';

const noRules = directoryWith({});
const template = buildTemplate({ rulesDirectory: noRules });
/** Every alarm setting changed, built once for the tests below. */
const custom = buildTemplate({
  rulesDirectory: noRules,
  settings: {
    deadLetterAgeAlarmHours: 48,
    api4xxAlarmPercent: 25,
    apiThrottledAlarmThreshold: 50,
    sweepIntervalMinutes: 10,
  },
});

type AlarmResource = { Properties: Record<string, unknown> };

/** The alarm whose logical id starts with Monitoring<name>. */
function alarmNamed(built: Template, name: string): Record<string, unknown> {
  const found = Object.entries(built.findResources('AWS::CloudWatch::Alarm') as Record<string, AlarmResource>)
    .filter(([id]) => new RegExp(`^Monitoring${name}[0-9A-F]{8}$`).test(id))
    .map(([, alarm]) => alarm.Properties);
  if (found.length !== 1) throw new Error(`Expected one alarm ${name}, found ${found.length}`);
  return found[0] as Record<string, unknown>;
}

const ALARMS = [
  'DeadLetterQueueNotEmpty',
  'DeadLetterQueueAge',
  'OldestMessageAge',
  'Ingest5xxRate',
  'Api4xxRate',
  'ApiThrottled',
  'SignatureFailures',
  'RejectedIpns',
  'ExpiredDuplicates',
  'ConsumerErrors',
  'ConsumerThrottles',
  'PutEventsFailures',
  'UnpublishableEvents',
  'HeldRevisions',
  'RejectedIpnsWaiting',
  'StuckEvents',
  'SweeperErrors',
  'SweeperNotRunning',
];

describe('the alarms', () => {
  it(`are the ${ALARMS.length} pipeline alarms (plus one per rule)`, () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', ALARMS.length);
    for (const name of ALARMS) expect(alarmNamed(template, name)).toBeDefined();
  });

  it('fire when the dead-letter queue holds any message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesDeadLetterQueue'), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('fire when the share of IPNs answered 5xx reaches the setting', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' }),
        Match.objectLike({
          Id: 'requests',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'AWS/ApiGateway', MetricName: 'Count' }),
          }),
        }),
        Match.objectLike({
          Id: 'errors',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'AWS/ApiGateway', MetricName: '5xx' }),
          }),
        }),
      ]),
    });
  });

  it('fire on a spike of signature failures', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
      MetricName: METRICS.signatureFailure,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAMES.ingest }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it.each(['Errors', 'Throttles'])('fire on any consumer %s', (metricName) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: metricName,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^ConsumerFunction') } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('fire on any PutEvents entry EventBridge rejected', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
      MetricName: METRICS.putEventsFailedEntries,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAMES.consumer }],
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  it('fire when the oldest queued IPN is older than the setting', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesQueue'), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Threshold: 600,
    });
  });

  it('fire when a dead letter has waited deadLetterAgeAlarmHours (default 24 h)', () => {
    const dlq = { 'Fn::GetAtt': [expect.stringMatching(/^IpnQueuesDeadLetterQueue/), 'QueueName'] };
    expect(alarmNamed(template, 'DeadLetterQueueAge')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: dlq }],
      Statistic: 'Maximum',
      Threshold: 24 * 3600,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarmNamed(custom, 'DeadLetterQueueAge').Threshold).toBe(48 * 3600);
  });

  it('fire when the API answers 4xx to api4xxAlarmPercent of its requests for 15 minutes', () => {
    const api4xx = alarmNamed(template, 'Api4xxRate');
    expect(api4xx).toMatchObject({
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(api4xx.Metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Expression: `IF(requests >= ${API_4XX_MIN_REQUESTS}, 100 * clientErrors / requests, 0)`,
        }),
        expect.objectContaining({
          Id: 'clientErrors',
          MetricStat: expect.objectContaining({
            Metric: expect.objectContaining({ Namespace: 'AWS/ApiGateway', MetricName: '4xx' }),
            Period: 300,
            Stat: 'Sum',
          }),
        }),
      ]),
    );
    expect(alarmNamed(custom, 'Api4xxRate').Threshold).toBe(25);
  });

  it('fire when apiThrottledAlarmThreshold requests are answered 429 in 5 minutes (from the access log)', () => {
    expect(alarmNamed(template, 'ApiThrottled')).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: THROTTLED_REQUESTS_METRIC,
      Dimensions: [{ Name: 'ApiId', Value: { Ref: expect.stringMatching(/^IpnApi/) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 10,
    });
    expect(alarmNamed(custom, 'ApiThrottled').Threshold).toBe(50);
  });

  it.each([
    ['RejectedIpns', METRICS.ipnRejected, SERVICE_NAMES.ingest],
    ['ExpiredDuplicates', METRICS.ipnExpiredDuplicate, SERVICE_NAMES.ingest],
    ['UnpublishableEvents', METRICS.unpublishableEvents, SERVICE_NAMES.consumer],
  ])('%s fires on any %s counted in 5 minutes', (name, metricName, service) => {
    expect(alarmNamed(template, name)).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: service }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['HeldRevisions', METRICS.heldRevisions],
    ['RejectedIpnsWaiting', METRICS.rejectedIpnsWaiting],
    ['StuckEvents', METRICS.stuckEvents],
  ])(
    '%s fires while the sweeper’s %s gauge is at least 1, and keeps its state between runs',
    (name, metricName) => {
      expect(alarmNamed(template, name)).toMatchObject({
        Namespace: METRIC_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: SERVICE_NAMES.sweeper }],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'ignore',
      });
      // A period never shorter than the sweep interval, so each holds a run.
      expect(alarmNamed(custom, name).Period).toBe(600);
    },
  );

  it('fire when the sweeper fails two periods in a row', () => {
    expect(alarmNamed(template, 'SweeperErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^SweeperFunction/) } }],
      Threshold: 1,
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  it('fire when the sweeper publishes no gauge for three periods: missing data is the problem', () => {
    expect(alarmNamed(template, 'SweeperNotRunning')).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: METRICS.stuckEvents,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAMES.sweeper }],
      Statistic: 'SampleCount',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
    expect(alarmNamed(custom, 'SweeperNotRunning').Period).toBe(600);
  });

  it('treat missing data as nothing happened, except the gauges and the sweeper’s heartbeat', () => {
    const special: Record<string, string> = {
      HeldRevisions: 'ignore',
      RejectedIpnsWaiting: 'ignore',
      StuckEvents: 'ignore',
      SweeperNotRunning: 'breaching',
    };
    for (const name of ALARMS) {
      expect([name, alarmNamed(template, name).TreatMissingData]).toEqual([
        name,
        special[name] ?? 'notBreaching',
      ]);
    }
  });

  it('say what they mean and point at the runbook', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmDescription).toMatch(/\. What to do: docs\/DEPLOY\.md, "Alarms"\.$/);
    }
  });

  it('notify nobody unless a topic is configured', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it('make the synth warn when they notify nobody, naming the settings to fill', () => {
    const { stack } = buildApp({ rulesDirectory: noRules });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.id).toBe('/OkePayPipeline/Monitoring');
    const message = String(warnings[0]?.entry.data);
    for (const setting of ['okepay.alarmEmails', 'okepay.alarmTopicArn', 'okepay.createAlarmTopic']) {
      expect(message).toContain(setting);
    }
    expect(message).toContain(NO_ALARM_DESTINATION_WARNING);
  });

  it.each([
    ['alarmEmails', { alarmEmails: ['ops@example.com'] }],
    ['alarmTopicArn', { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' }],
    ['createAlarmTopic', { createAlarmTopic: true }],
  ])('do not warn with %s set', (_, settings) => {
    const { stack } = buildApp({ rulesDirectory: noRules, settings });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  it('notify a new topic with e-mail subscriptions, on alarm and on recovery', () => {
    const withEmail = buildTemplate({
      rulesDirectory: noRules,
      contextSettings: { alarmEmails: ['ops@example.com'] },
    });
    withEmail.resourceCountIs('AWS::SNS::Topic', 1);
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    withEmail.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const alarm of Object.values(withEmail.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^MonitoringAlarmTopic/) },
      ]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
  });

  it('notify an existing topic', () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
    const withTopic = buildTemplate({ rulesDirectory: noRules, settings: { alarmTopicArn: topicArn } });
    withTopic.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(withTopic.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topicArn]);
    }
  });
});

describe('the dashboard', () => {
  it('shows the alarms and each stage’s metrics', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of [
      ...Object.values(METRICS),
      '5xx',
      '4xx',
      THROTTLED_REQUESTS_METRIC,
      'ApproximateAgeOfOldestMessage',
      'Throttles',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('Sweeper function');
  });
});
