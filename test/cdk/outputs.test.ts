import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildTemplate, directoryWith } from './stack-builder.ts';

const template = buildTemplate();

describe('the stack outputs', () => {
  it('give the full IPN URL, the API endpoint plus /okepay/ipn', () => {
    template.hasOutput('IpnUrl', {
      Value: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnApi'), 'ApiEndpoint'] }, '/okepay/ipn'],
        ],
      },
    });
  });

  it.each([
    ['EventBusName', { Ref: Match.stringLikeRegexp('^PaymentEventsBus') }],
    ['EventBusArn', { 'Fn::GetAtt': [Match.stringLikeRegexp('^PaymentEventsBus'), 'Arn'] }],
    ['EventSource', 'okepay'],
    ['TableName', { Ref: Match.stringLikeRegexp('^EventsTable') }],
    ['QueueUrl', { Ref: Match.stringLikeRegexp('^IpnQueuesQueue') }],
    ['QueueArn', { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesQueue'), 'Arn'] }],
    ['DeadLetterQueueUrl', { Ref: Match.stringLikeRegexp('^IpnQueuesDeadLetterQueue') }],
    ['DeadLetterQueueArn', { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesDeadLetterQueue'), 'Arn'] }],
    ['WebhookSecretArn', { Ref: Match.stringLikeRegexp('^WebhookSecret') }],
    [
      'SchemaRegistryName',
      { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventSchemasRegistry'), 'RegistryName'] },
    ],
    ['DashboardName', { Ref: Match.stringLikeRegexp('^MonitoringDashboard') }],
    ['ReplayFunctionName', { Ref: Match.stringLikeRegexp('^ReplayFunction') }],
    ['SweeperFunctionName', { Ref: Match.stringLikeRegexp('^SweeperFunction') }],
  ])('%s, under that exact key', (key, value) => {
    template.hasOutput(key, { Value: value });
  });

  it('say what raw carries on the bus, as `okepay replay --stack` reads it', () => {
    template.hasOutput('RawOnBus', { Value: '{"mode":"all"}' });
    const redacting = buildTemplate({
      rulesDirectory: directoryWith({}),
      settings: { rawOnBus: { mode: 'redact', redactPaths: ['customer.email'] } },
    });
    redacting.hasOutput('RawOnBus', { Value: '{"mode":"redact","paths":["customer.email"]}' });
  });

  it('export nothing, so no other stack gets locked to them', () => {
    for (const output of Object.values(template.findOutputs('*'))) expect(output.Export).toBeUndefined();
  });
});
