import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { rawOnBusFromEnv } from '../../functions/shared/canonical/raw-on-bus.ts';
import { METRIC_NAMESPACE } from '../../functions/shared/observability.ts';
import { SERVICE_NAMES } from '../../lib/service-names.ts';
import {
  allowedActions,
  buildTemplate,
  directoryWith,
  functionLogicalId,
  roleStatements,
} from './stack-builder.ts';

const template = buildTemplate();
/** Function settings changed, built once for the tests below. */
const custom = buildTemplate({
  settings: {
    ingestReservedConcurrency: 20,
    consumerReservedConcurrency: 5,
    consumerMaxConcurrency: 5,
    eventSource: 'com.example.payments',
    functionMemoryMb: 1024,
    eventRetentionDays: 30,
    dedupRetentionDays: 400,
    revisionPolicy: 'publish',
    sweepGraceMinutes: 30,
    sweepIntervalMinutes: 10,
    allowedSourceCidrs: ['203.0.113.0/24', '2001:db8::/32'],
  },
});
const tableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsTable'), 'Arn'] };
const queueArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesQueue'), 'Arn'] };

describe.each([
  ['ingest', SERVICE_NAMES.ingest],
  ['consumer', SERVICE_NAMES.consumer],
  ['replay', SERVICE_NAMES.replay],
  ['sweeper', SERVICE_NAMES.sweeper],
])('the %s function', (_, service) => {
  const id = functionLogicalId(template, service);
  const properties = () => template.findResources('AWS::Lambda::Function')[id]?.Properties;

  it('runs the newest Node.js runtime on arm64', () => {
    expect(properties()).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('traces with X-Ray and shares the memory setting', () => {
    expect(properties()).toMatchObject({ TracingConfig: { Mode: 'Active' }, MemorySize: 512 });
  });

  it('sets source maps and the Powertools service and namespace', () => {
    expect(properties()?.Environment.Variables).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
    });
  });

  it('logs to its own log group with the configured retention', () => {
    const logGroupId = properties()?.LoggingConfig.LogGroup.Ref;
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties).toMatchObject({
      RetentionInDays: 90,
    });
  });

  it('has a role without AWS managed policies', () => {
    const roleId = properties()?.Role['Fn::GetAtt'][0];
    expect(template.findResources('AWS::IAM::Role')[roleId]?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('may only write to its own log group, besides what its code calls', () => {
    const logGroupId = properties()?.LoggingConfig.LogGroup.Ref;
    expect(roleStatements(template, service)).toContainEqual({
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
    });
  });

  it('has "*" as a resource only for the X-Ray actions', () => {
    const wildcard = roleStatements(template, service).filter((statement) => statement.Resource === '*');
    expect(wildcard).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
    ]);
  });
});

describe('the ingest function', () => {
  const id = functionLogicalId(template, SERVICE_NAMES.ingest);

  it('gets its table, queue, secret and signature settings from the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: Match.stringLikeRegexp('^EventsTable') },
          QUEUE_URL: { Ref: Match.stringLikeRegexp('^IpnQueuesQueue') },
          OKEPAY_WEBHOOK_SECRET_ARN: { Ref: Match.stringLikeRegexp('^WebhookSecret') },
          OKEPAY_SIGNATURE_SCHEME: 'body',
          OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '300',
          OKEPAY_RETENTION_DAYS: '90',
          OKEPAY_DEDUP_RETENTION_DAYS: '1095',
          OKEPAY_REVISION_POLICY: 'hold',
        }),
      },
    });
  });

  it('takes the revision policy and the dedup retention from the settings', () => {
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.ingest,
          OKEPAY_RETENTION_DAYS: '30',
          OKEPAY_DEDUP_RETENTION_DAYS: '400',
          OKEPAY_REVISION_POLICY: 'publish',
        }),
      },
    });
  });

  it('passes allowedSourceCidrs as OKEPAY_ALLOWED_SOURCE_CIDRS, comma-separated', () => {
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.ingest,
          OKEPAY_ALLOWED_SOURCE_CIDRS: '203.0.113.0/24,2001:db8::/32',
        }),
      },
    });
  });

  it('sets no allowlist by default: every source address may call', () => {
    expect(
      template.findResources('AWS::Lambda::Function')[id]?.Properties.Environment.Variables,
    ).not.toHaveProperty('OKEPAY_ALLOWED_SOURCE_CIDRS');
  });

  it('times out within API Gateway’s 30 s integration limit', () => {
    expect(template.findResources('AWS::Lambda::Function')[id]?.Properties.Timeout).toBe(15);
  });

  it('may call exactly what it calls: put/get/update items, send messages, read the secret', () => {
    expect(allowedActions(template, SERVICE_NAMES.ingest)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('writes items of the events table only', () => {
    expect(roleStatements(template, SERVICE_NAMES.ingest)).toContainEqual({
      Sid: 'StoreIpns',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] }),
    });
  });

  it('sends to the IPN queue only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'EnqueueIpns', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn },
        ]),
      },
    });
  });

  it('reads the webhook secret only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadWebhookSecret',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: { Ref: Match.stringLikeRegexp('^WebhookSecret') },
          },
        ]),
      },
    });
  });

  it('can have reserved concurrency', () => {
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.ingest }) },
      ReservedConcurrentExecutions: 20,
    });
  });
});

describe('the consumer function', () => {
  it('gets its table, bus and event source from the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: Match.stringLikeRegexp('^EventsTable') },
          EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^PaymentEventsBus') },
          EVENT_SOURCE: 'okepay',
        }),
      },
    });
  });

  it('may call exactly what it calls: read and mark items, put events, consume the queue', () => {
    expect(allowedActions(template, SERVICE_NAMES.consumer)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('reads and marks items of the events table only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadAndMarkIpns',
            Effect: 'Allow',
            Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
            Resource: tableArn,
          },
        ]),
      },
    });
  });

  it('puts events on the pipeline bus only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PublishPaymentEvents',
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PaymentEventsBus'), 'Arn'] },
          },
        ]),
      },
    });
  });

  it('consumes the IPN queue only', () => {
    const consume = roleStatements(template, SERVICE_NAMES.consumer).filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('sqs:')),
    );
    expect(consume).toHaveLength(1);
    expect(consume[0]?.Resource).toMatchObject({
      'Fn::GetAtt': [expect.stringMatching(/^IpnQueuesQueue/), 'Arn'],
    });
  });

  it('uses the configured event source', () => {
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_SOURCE: 'com.example.payments' }) },
    });
  });

  it('can have reserved concurrency', () => {
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.consumer }) },
      ReservedConcurrentExecutions: 5,
    });
  });
});

describe('the replay function', () => {
  const busArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^PaymentEventsBus'), 'Arn'] };

  it('gets its table, bus and event source from the environment, and 15 minutes to run', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.replay,
          TABLE_NAME: { Ref: Match.stringLikeRegexp('^EventsTable') },
          EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^PaymentEventsBus') },
          EVENT_SOURCE: 'okepay',
        }),
      },
      Timeout: 900,
    });
  });

  it('may call exactly what it calls: query and read stored events, write its progress, put events, continue', () => {
    expect(allowedActions(template, SERVICE_NAMES.replay)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'lambda:InvokeFunction',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('reads the events table and its indexes only', () => {
    expect(roleStatements(template, SERVICE_NAMES.replay)).toContainEqual({
      Sid: 'SelectStoredEvents',
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      Resource: [
        { 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] }, '/index/*']] },
      ],
    });
  });

  it('writes only replay progress items (keys starting REPLAY#), never a stored event', () => {
    expect(roleStatements(template, SERVICE_NAMES.replay)).toContainEqual({
      Sid: 'RecordReplayProgress',
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
    });
  });

  it('puts events on the pipeline bus only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'PublishReplayedEvents', Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn },
        ]),
      },
    });
  });
});

describe('what raw carries on the bus (rawOnBus)', () => {
  const redacting = buildTemplate({
    rulesDirectory: directoryWith({}),
    settings: { rawOnBus: { mode: 'redact', redactPaths: ['customer.email', 'customer.ip'] } },
  });
  const environment = (built: Template, service: string): Record<string, string> =>
    built.findResources('AWS::Lambda::Function')[functionLogicalId(built, service)]?.Properties.Environment
      .Variables;

  it.each([SERVICE_NAMES.consumer, SERVICE_NAMES.replay])('is all of it by default for %s', (service) => {
    expect(environment(template, service)).toMatchObject({ OKEPAY_RAW_ON_BUS: 'all' });
    expect(environment(template, service).OKEPAY_RAW_REDACT_PATHS).toBeUndefined();
  });

  it.each([SERVICE_NAMES.consumer, SERVICE_NAMES.replay])(
    'gives %s the mode and the paths to redact, which its own configuration reader accepts',
    (service) => {
      const variables = environment(redacting, service);
      expect(variables).toMatchObject({
        OKEPAY_RAW_ON_BUS: 'redact',
        OKEPAY_RAW_REDACT_PATHS: '["customer.email","customer.ip"]',
      });
      expect(rawOnBusFromEnv(variables)).toEqual({
        mode: 'redact',
        paths: ['customer.email', 'customer.ip'],
      });
    },
  );

  it.each([SERVICE_NAMES.ingest, SERVICE_NAMES.sweeper])(
    'is not given to %s, which publishes nothing',
    (service) => {
      expect(environment(redacting, service).OKEPAY_RAW_ON_BUS).toBeUndefined();
    },
  );
});

describe('the sweeper function', () => {
  const id = functionLogicalId(template, SERVICE_NAMES.sweeper);
  const stateIndexArn = {
    'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] }, '/index/byState']],
  };

  it('gets its table, queue and grace period (in seconds) from the environment', () => {
    expect(
      template.findResources('AWS::Lambda::Function')[id]?.Properties.Environment.Variables,
    ).toMatchObject({
      TABLE_NAME: { Ref: expect.stringMatching(/^EventsTable/) },
      QUEUE_URL: { Ref: expect.stringMatching(/^IpnQueuesQueue/) },
      OKEPAY_SWEEP_GRACE_SECONDS: '900',
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.sweeper,
          OKEPAY_SWEEP_GRACE_SECONDS: '1800',
        }),
      },
    });
  });

  it('ends a run before the next one starts', () => {
    expect(template.findResources('AWS::Lambda::Function')[id]?.Properties.Timeout).toBe(300);
    const minutely = buildTemplate({ settings: { sweepIntervalMinutes: 1 } });
    const fn =
      minutely.findResources('AWS::Lambda::Function')[functionLogicalId(minutely, SERVICE_NAMES.sweeper)];
    expect(fn?.Properties.Timeout).toBe(60);
  });

  it('may call exactly what it calls: query the state index, record a sweep, send messages', () => {
    expect(allowedActions(template, SERVICE_NAMES.sweeper)).toEqual([
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('queries the byState index only, not the table or the other indexes', () => {
    expect(roleStatements(template, SERVICE_NAMES.sweeper)).toContainEqual({
      Sid: 'ReadStateIndex',
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: stateIndexArn,
    });
  });

  it('updates stored payment events only', () => {
    expect(roleStatements(template, SERVICE_NAMES.sweeper)).toContainEqual({
      Sid: 'RecordSweeps',
      Effect: 'Allow',
      Action: 'dynamodb:UpdateItem',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EventsTable/), 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PAYMENT#*'] } },
    });
  });

  it('sends to the IPN queue only', () => {
    expect(roleStatements(template, SERVICE_NAMES.sweeper)).toContainEqual({
      Sid: 'EnqueueStuckIpns',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^IpnQueuesQueue/), 'Arn'] },
    });
  });

  it('runs on a schedule, every sweepIntervalMinutes (default 5)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      EventBusName: Match.absent(),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id, 'Arn'] } })],
    });
    custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
    });
  });

  it('is not retried by Lambda after a failed run: the next scheduled run is the retry', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id },
      MaximumRetryAttempts: 0,
    });
  });
});

describe('every function', () => {
  it('has no reserved concurrency by default', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('takes its memory from the one shared setting', () => {
    for (const fn of Object.values(custom.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.MemorySize).toBe(1024);
    }
  });
});
