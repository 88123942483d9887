import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES_DIR } from '../../functions/shared/rules/rule-file.ts';
import { readRuleFiles } from '../../lib/audited-rules.ts';
import { readSchemaFiles } from '../../lib/event-schemas.ts';
import { SUBSCRIBER_RULE_ACTIONS } from '../../lib/payment-event-bus.ts';
import { withReplayClause } from '../../lib/payment-event-pattern.ts';
import { REPOSITORY_ROOT } from '../../lib/pipeline-function.ts';
import { buildApp, buildTemplate, directoryWith } from './stack-builder.ts';

const busRef = { Ref: Match.stringLikeRegexp('^PaymentEventsBus') };
const subscriberAccounts = ['111111111111', '222222222222'];
const validRule = {
  name: 'all-succeeded',
  description: 'Every succeeded payment',
  eventPattern: { source: ['okepay'], 'detail-type': ['payment.succeeded'] },
  targets: [{ type: 'log' }],
};
const draft4Schema = { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' };

/** The rules on the payment bus (the sweeper's schedule is a rule too, on the default bus). */
function busRules(built: Template) {
  return Object.values(
    built.findResources('AWS::Events::Rule', { Properties: { EventBusName: Match.anyValue() } }),
  );
}

/** The repository's events/rules and events/schema, default settings. */
const template = buildTemplate();
/** Every bus setting changed, one rule file, one schema file: built once for the tests below. */
const custom = buildTemplate({
  settings: { eventBusName: 'okepay-payments', archiveRetentionDays: 0 },
  contextSettings: { subscriberAccountIds: subscriberAccounts },
  rulesDirectory: directoryWith({ 'all-succeeded.json': validRule }),
  schemaDirectory: directoryWith({ 'refund.schema.json': draft4Schema, 'notes.md': 'not a schema' }),
});
/** No rule directory at all, an empty schema directory. */
const empty = buildTemplate({
  rulesDirectory: `${REPOSITORY_ROOT}/no-such-directory`,
  schemaDirectory: directoryWith({}),
});

describe('the payment event bus', () => {
  it('is one custom bus', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('can have a fixed name', () => {
    custom.hasResourceProperties('AWS::Events::EventBus', { Name: 'okepay-payments' });
  });

  it('archives every event put on it as long as the table keeps it (eventRetentionDays, 90 days)', () => {
    template.resourceCountIs('AWS::Events::Archive', 1);
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PaymentEventsBus'), 'Arn'] },
      EventPattern: { account: [{ Ref: 'AWS::AccountId' }] },
      RetentionDays: 90,
    });
  });

  it.each([
    ['follows eventRetentionDays', { eventRetentionDays: 30 }, 30],
    ['keeps archiveRetentionDays when given', { eventRetentionDays: 30, archiveRetentionDays: 400 }, 400],
  ])('archive retention %s', (_, settings, days) => {
    buildTemplate({ settings, rulesDirectory: directoryWith({}) }).hasResourceProperties(
      'AWS::Events::Archive',
      {
        RetentionDays: days,
      },
    );
  });

  it('archives forever with archiveRetentionDays 0 (which CloudFormation reads as indefinitely)', () => {
    custom.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 0 });
  });

  it('has no resource policy unless subscriber accounts are listed', () => {
    template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it.each(subscriberAccounts)(
    'lets account %s manage the rules it created on the bus, and nothing else',
    (account) => {
      custom.resourceCountIs('AWS::Events::EventBusPolicy', subscriberAccounts.length);
      custom.hasResourceProperties('AWS::Events::EventBusPolicy', {
        EventBusName: busRef,
        Statement: {
          Sid: Match.stringLikeRegexp(account),
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::Join': ['', Match.arrayWith([`:iam::${account}:root`])] } },
          Action: SUBSCRIBER_RULE_ACTIONS,
          Resource: { 'Fn::Join': ['', Match.arrayWith([':rule/', busRef, '/*'])] },
          Condition: { StringEqualsIfExists: { 'events:creatorAccount': account } },
        },
      });
    },
  );

  it('grants subscribers the rule actions AWS documents, and never PutEvents', () => {
    expect(SUBSCRIBER_RULE_ACTIONS).toEqual(
      expect.arrayContaining([
        'events:PutRule',
        'events:PutTargets',
        'events:DeleteRule',
        'events:RemoveTargets',
        'events:DescribeRule',
      ]),
    );
    expect(SUBSCRIBER_RULE_ACTIONS).not.toContain('events:PutEvents');
  });
});

describe('the rules of events/rules', () => {
  const definitions = readRuleFiles(DEFAULT_RULES_DIR);

  it('become one EventBridge rule per file', () => {
    expect(busRules(template)).toHaveLength(definitions.length);
  });

  it.each(definitions.map((definition) => [definition.name, definition] as const))(
    '%s is deployed on the bus with its file’s pattern and an audit log target',
    (_, definition) => {
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: definition.name,
        EventBusName: busRef,
        // As written, plus the clause of a subscription taking live events and the replays for everyone
        // or for it (payment-event-pattern.test.ts checks what it matches).
        EventPattern: withReplayClause(definition.eventPattern, definition.name, 'both'),
        State: 'ENABLED',
        Targets: [
          {
            DeadLetterConfig: {
              Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] },
            },
            RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
            Arn: {
              'Fn::Join': [
                '',
                Match.arrayWith([':log-group:', { Ref: Match.stringLikeRegexp('AuditLogs') }]),
              ],
            },
            InputTransformer: {
              InputPathsMap: Match.objectLike({
                paymentId: '$.detail.paymentId',
                eventId: '$.detail.eventId',
              }),
              InputTemplate: Match.stringLikeRegexp('^\\{"timestamp":<time>,"message":"'),
            },
          },
        ],
      });
    },
  );

  it('keep the logical ids they had as rules, so CloudFormation updates them in place', () => {
    // A rule whose logical id changed would be created anew under the same name before the old one is
    // deleted: the deployment fails, or deletes the rule it just created.
    expect(
      Object.keys(template.findResources('AWS::Events::Rule', { Properties: { Name: Match.anyValue() } })),
    ).toEqual(
      expect.arrayContaining([
        'RuleslargeeurpaymentsB16CAB50',
        'RulesrefundsandchargebacksCC3A5E46',
        'Rulesreplayedevents4E80B61B',
        'Rulesshopborders6D00CCB3',
        'RulessucceededpaymentsC24F3E15',
      ]),
    );
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup'))).toEqual(
      expect.arrayContaining([
        'RulessucceededpaymentsAuditLogsCB08A256',
        'RulesreplayedeventsAuditLogs8C6E64AD',
      ]),
    );
  });

  it('fail the synth, naming the file, on a name a subscription cannot have', () => {
    const file = { ...validRule, name: 'all.succeeded' };
    expect(() => buildApp({ rulesDirectory: directoryWith({ 'dotted.json': file }) })).toThrow(
      /dotted\.json[\s\S]*"all\.succeeded"[\s\S]*letters, digits/,
    );
  });

  it('fail the synth, naming the file, on a pattern that says whom replays are for itself', () => {
    const file = {
      ...validRule,
      eventPattern: { source: ['okepay'], detail: { replay: { subscriber: ['all-succeeded'] } } },
    };
    expect(() => buildApp({ rulesDirectory: directoryWith({ 'own-clause.json': file }) })).toThrow(
      /own-clause\.json[\s\S]*detail\.replay\.subscriber, which the subscription sets/,
    );
  });

  it('audit logs never carry the raw payload (customer e-mail and IP address)', () => {
    for (const rule of busRules(template)) {
      const targets = (rule as { Properties: { Targets: { InputTransformer?: unknown }[] } }).Properties
        .Targets;
      for (const target of targets) {
        expect(target.InputTransformer).toBeDefined();
        expect(JSON.stringify(target.InputTransformer)).not.toContain('raw');
      }
    }
  });
});

describe('rules from a rule directory', () => {
  it('deploy each file as a rule', () => {
    expect(busRules(custom)).toHaveLength(1);
    custom.hasResourceProperties('AWS::Events::Rule', {
      Name: 'all-succeeded',
      Description: 'Every succeeded payment',
    });
  });

  it('let EventBridge write their audit logs, through one resource policy', () => {
    custom.resourceCountIs('AWS::Logs::ResourcePolicy', 1);
    const policy = Object.values(custom.findResources('AWS::Logs::ResourcePolicy'))[0];
    // The policy is a JSON string joined around the log group ARNs: parse it with placeholders.
    const parts: unknown[] = policy?.Properties.PolicyDocument['Fn::Join'][1];
    const document = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'ARN')).join(''));
    expect(document.Statement).toEqual([
      {
        Sid: 'EventBridgeWritesRuleAuditLogs',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: 'ARN',
      },
    ]);
    expect(parts.filter((part) => typeof part !== 'string')).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^Rulesallsucceeded.*AuditLogs/), 'Arn'] },
    ]);
  });

  it('raise an alarm per rule on failed deliveries', () => {
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [
        { Name: 'EventBusName', Value: busRef },
        { Name: 'RuleName', Value: 'all-succeeded' },
      ],
      Threshold: 1,
    });
  });

  it('notify the pipeline’s alarm topic from every alarm of their subscriptions', () => {
    const withTopic = buildTemplate({
      rulesDirectory: directoryWith({ 'all-succeeded.json': validRule }),
      contextSettings: { createAlarmTopic: true },
    });
    const ruleAlarms = Object.entries(withTopic.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
      id.startsWith('Rulesallsucceeded'),
    );
    expect(ruleAlarms).toHaveLength(4);
    for (const [, alarm] of ruleAlarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^MonitoringAlarmTopic/) },
      ]);
      expect(alarm.Properties.AlarmDescription).toMatch(
        /^Subscription all-succeeded: .*What to do: docs\/DEPLOY\.md, "Alarms"\.$/,
      );
    }
  });

  it('add no outputs to the pipeline stack', () => {
    expect(Object.keys(custom.findOutputs('*')).filter((key) => key.startsWith('Rules'))).toEqual([]);
  });

  it('deploy nothing, and no log policy, when the directory is missing', () => {
    expect(busRules(empty)).toHaveLength(0);
    empty.resourceCountIs('AWS::Logs::ResourcePolicy', 0);
  });

  it('are none in an empty directory', () => {
    expect(readRuleFiles(directoryWith({}))).toEqual([]);
  });

  it.each([
    [
      'a pattern EventBridge would reject',
      { 'bad-pattern.json': { ...validRule, eventPattern: { source: 'okepay' } } },
      /bad-pattern\.json[\s\S]*eventPattern/,
    ],
    ['no JSON', { 'broken.json': '{ "name": ' }, /broken\.json[\s\S]*not readable JSON/],
    [
      'a rule name used twice',
      { 'a.json': validRule, 'b.json': validRule },
      /b\.json[\s\S]*"all-succeeded" is already used/,
    ],
  ])('fail the synth, naming the file, on %s', (_, files, message) => {
    expect(() => buildApp({ rulesDirectory: directoryWith(files) })).toThrow(message);
  });
});

describe('the schema registry', () => {
  const schemaFiles = readSchemaFiles(`${REPOSITORY_ROOT}/events/schema`);

  it('is one registry', () => {
    template.resourceCountIs('AWS::EventSchemas::Registry', 1);
  });

  it('holds one JSONSchemaDraft4 schema per file of events/schema', () => {
    template.resourceCountIs('AWS::EventSchemas::Schema', schemaFiles.length);
    for (const schemaFile of schemaFiles) {
      template.hasResourceProperties('AWS::EventSchemas::Schema', {
        RegistryName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventSchemasRegistry'), 'RegistryName'] },
        SchemaName: schemaFile.name,
        Type: 'JSONSchemaDraft4',
        Content: schemaFile.content,
      });
    }
  });

  it('names each schema after its *.schema.json file, and ignores other files', () => {
    custom.resourceCountIs('AWS::EventSchemas::Schema', 1);
    custom.hasResourceProperties('AWS::EventSchemas::Schema', {
      SchemaName: 'refund',
      Content: JSON.stringify(draft4Schema),
    });
  });

  it('holds no schema when there is none', () => {
    empty.resourceCountIs('AWS::EventSchemas::Schema', 0);
  });

  it.each([
    [
      'of another draft',
      { $schema: 'https://json-schema.org/draft/2020-12/schema' },
      /payment\.schema\.json.*draft-04/,
    ],
    ['not JSON', '{', /payment\.schema\.json: not readable JSON/],
    ['not an object', '[]', /payment\.schema\.json: a JSON Schema must be a JSON object/],
  ])('fails the synth, naming the file, on a schema %s', (_, content, message) => {
    expect(() => buildApp({ schemaDirectory: directoryWith({ 'payment.schema.json': content }) })).toThrow(
      message,
    );
  });
});
