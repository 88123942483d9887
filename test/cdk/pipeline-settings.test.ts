import { describe, expect, it } from 'vitest';
import { PipelineSettingsError } from '../../lib/errors.ts';
import { resolvePipelineSettings } from '../../lib/pipeline-settings.ts';
import { buildApp } from './stack-builder.ts';

describe('resolvePipelineSettings', () => {
  it('applies the defaults when neither context nor props set anything', () => {
    expect(resolvePipelineSettings(undefined)).toMatchObject({
      apiRateLimit: 50,
      apiBurstLimit: 100,
      functionMemoryMb: 512,
      ingestTimeoutSeconds: 15,
      consumerTimeoutSeconds: 30,
      logRetentionDays: 90,
      maxReceiveCount: 5,
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      consumerMaxConcurrency: 10,
      allowedSourceCidrs: [],
      archiveRetentionDays: 90,
      rawOnBus: { mode: 'all', redactPaths: [] },
      signatureScheme: 'body',
      signatureToleranceSeconds: 300,
      eventRetentionDays: 90,
      eventSource: 'okepay',
      subscriberAccountIds: [],
      alarmEmails: [],
      createAlarmTopic: false,
      revisionPolicy: 'hold',
      dedupRetentionDays: 1095,
      sweepGraceMinutes: 15,
      sweepIntervalMinutes: 5,
      deadLetterAgeAlarmHours: 24,
      api4xxAlarmPercent: 10,
      apiThrottledAlarmThreshold: 10,
    });
  });

  it.each([
    [{ revisionPolicy: 'publish' }],
    [{ eventRetentionDays: 365, dedupRetentionDays: 365 }],
    [{ sweepGraceMinutes: 3, sweepIntervalMinutes: 1, maxBatchingWindowSeconds: 0 }],
    [{ deadLetterAgeAlarmHours: 216 }],
    [{ rawOnBus: { mode: 'none' } }],
    [
      {
        rawOnBus: {
          mode: 'redact',
          redactPaths: ['customer.email', 'customer.ip', 'billing_address.line-1'],
        },
      },
    ],
    [{ api4xxAlarmPercent: 50, apiThrottledAlarmThreshold: 1 }],
    [{ consumerMaxConcurrency: 2 }],
    [{ consumerMaxConcurrency: 1000, consumerReservedConcurrency: 1000 }],
    [{ consumerMaxConcurrency: 5, consumerReservedConcurrency: 20 }],
    [{ allowedSourceCidrs: ['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32', '::/0', '0.0.0.0/0'] }],
  ])('accepts %j', (input) => {
    expect(resolvePipelineSettings(input)).toMatchObject(input);
  });

  it('reads the cdk.json context object', () => {
    const settings = resolvePipelineSettings({ maxReceiveCount: 3, signatureScheme: 'timestamp.body' });
    expect(settings).toMatchObject({ maxReceiveCount: 3, signatureScheme: 'timestamp.body' });
  });

  it('reads a context value given as JSON on the command line (-c okepay=...)', () => {
    expect(resolvePipelineSettings('{"batchSize":5}').batchSize).toBe(5);
  });

  it('lets stack props win over the context, and ignores props left undefined', () => {
    const settings = resolvePipelineSettings(
      { batchSize: 5, apiRateLimit: 20 },
      { batchSize: 8, apiRateLimit: undefined },
    );
    expect(settings).toMatchObject({ batchSize: 8, apiRateLimit: 20 });
  });

  it.each([
    [{ maxReceiveCount: 0 }, 'okepay.maxReceiveCount must be an integer from 1 to 1000, got 0'],
    [{ maxReceiveCount: '5' }, 'okepay.maxReceiveCount must be an integer from 1 to 1000, got "5"'],
    [{ batchSize: 2.5 }, 'okepay.batchSize must be an integer from 1 to 10000, got 2.5'],
    [{ ingestTimeoutSeconds: 31 }, 'okepay.ingestTimeoutSeconds must be an integer from 3 to 30, got 31'],
    [{ consumerTimeoutSeconds: 5 }, 'okepay.consumerTimeoutSeconds must be an integer from 10 to 900, got 5'],
    [
      { logRetentionDays: 10 },
      'okepay.logRetentionDays must be one of the retention periods CloudWatch Logs accepts',
    ],
    [{ signatureScheme: 'hmac' }, 'okepay.signatureScheme must be one of body, timestamp.body, got "hmac"'],
    [{ eventSource: 'aws.okepay' }, 'okepay.eventSource must be a printable ASCII string'],
    [{ eventBusName: 'default' }, 'okepay.eventBusName must not be "default"'],
    [
      { webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay' },
      'okepay.webhookSecretArn must be the complete ARN',
    ],
    [
      { subscriberAccountIds: ['12345'] },
      'okepay.subscriberAccountIds.0 must be a 12-digit AWS account id, got "12345"',
    ],
    [
      { subscriberAccountIds: '123456789012' },
      'okepay.subscriberAccountIds must be a list, got "123456789012"',
    ],
    [
      { subscriberAccountIds: ['123456789012', '123456789012'] },
      'okepay.subscriberAccountIds lists an account twice',
    ],
    [{ alarmEmails: ['ops'] }, 'okepay.alarmEmails.0 must be an e-mail address, got "ops"'],
    [{ createAlarmTopic: 'yes' }, 'okepay.createAlarmTopic must be true or false, got "yes"'],
    [
      { batchSize: 100, maxBatchingWindowSeconds: 0 },
      'okepay.batchSize above 10 needs maxBatchingWindowSeconds of at least 1, got 100',
    ],
    [
      { apiRateLimit: 200, apiBurstLimit: 100 },
      'okepay.apiBurstLimit must be at least apiRateLimit (200), got 100',
    ],
    [
      { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops', alarmEmails: ['ops@example.com'] },
      'okepay.alarmTopicArn is set together with alarmEmails or createAlarmTopic',
    ],
    [{ maxRecieveCount: 3 }, 'okepay.maxRecieveCount is not a setting; the settings are'],
    [{ revisionPolicy: 'drop' }, 'okepay.revisionPolicy must be one of hold, publish, got "drop"'],
    [
      { eventRetentionDays: 2000 },
      'okepay.dedupRetentionDays must be at least eventRetentionDays (2000), got 1095: the dedup marker exists to outlive the stored body',
    ],
    [{ dedupRetentionDays: 0 }, 'okepay.dedupRetentionDays must be an integer from 1 to 36500, got 0'],
    [{ sweepGraceMinutes: 0 }, 'okepay.sweepGraceMinutes must be an integer from 1 to 1440, got 0'],
    [
      { consumerTimeoutSeconds: 300 },
      "okepay.sweepGraceMinutes must cover the queue's visibility timeout (1801 s = 6 × consumerTimeoutSeconds + maxBatchingWindowSeconds), got 15 min",
    ],
    [{ sweepIntervalMinutes: 61 }, 'okepay.sweepIntervalMinutes must be an integer from 1 to 60, got 61'],
    [
      { deadLetterAgeAlarmHours: 240 },
      'okepay.deadLetterAgeAlarmHours must be an integer from 1 to 216, got 240',
    ],
    [{ api4xxAlarmPercent: 0 }, 'okepay.api4xxAlarmPercent must be an integer from 1 to 100, got 0'],
    [
      { apiThrottledAlarmThreshold: 0.5 },
      'okepay.apiThrottledAlarmThreshold must be an integer from 1 to 1000000, got 0.5',
    ],
    [{ rawOnBus: 'none' }, 'okepay.rawOnBus must be an object { "mode", "redactPaths" }, got "none"'],
    [{ rawOnBus: { mode: 'hash' } }, 'okepay.rawOnBus.mode must be one of all, none, redact, got "hash"'],
    [{ rawOnBus: { mode: 'redact' } }, 'okepay.rawOnBus has mode "redact" but no redactPaths'],
    [
      { rawOnBus: { mode: 'all', redactPaths: ['customer.email'] } },
      'okepay.rawOnBus has redactPaths, which only mode "redact" reads, with mode "all"',
    ],
    [
      { rawOnBus: { mode: 'redact', redactPaths: ['customer..email'] } },
      'okepay.rawOnBus.redactPaths.0 must be a dot path of the okePay payload such as "customer.email", got "customer..email"',
    ],
    [
      { rawOnBus: { mode: 'redact', redactPaths: ['customer email'] } },
      'okepay.rawOnBus.redactPaths.0 must be a dot path',
    ],
    [{ rawOnBus: { mode: 'none', paths: [] } }, 'okepay.rawOnBus.paths is not a key of okepay.rawOnBus'],
    [{ archiveRetentionDays: -1 }, 'okepay.archiveRetentionDays must be an integer from 0 to 36500, got -1'],
    [{ consumerMaxConcurrency: 1 }, 'okepay.consumerMaxConcurrency must be an integer from 2 to 1000, got 1'],
    [
      { consumerMaxConcurrency: 1001 },
      'okepay.consumerMaxConcurrency must be an integer from 2 to 1000, got 1001',
    ],
    [
      { consumerReservedConcurrency: 5 },
      'okepay.consumerReservedConcurrency must be at least consumerMaxConcurrency (10), got 5: below it, throttled invocations count as receives',
    ],
    [
      { allowedSourceCidrs: ['203.0.113.0'] },
      'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR such as "203.0.113.0/24" or "2001:db8::/32", got "203.0.113.0"',
    ],
    [{ allowedSourceCidrs: ['203.0.113.0/33'] }, 'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR'],
    [{ allowedSourceCidrs: ['2001:db8::/129'] }, 'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR'],
    [{ allowedSourceCidrs: ['okepay.com/24'] }, 'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR'],
    [{ allowedSourceCidrs: ['256.1.1.0/24'] }, 'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR'],
    [{ allowedSourceCidrs: [42] }, 'okepay.allowedSourceCidrs.0 must be an IPv4 or IPv6 CIDR'],
    [
      { allowedSourceCidrs: '203.0.113.0/24' },
      'okepay.allowedSourceCidrs must be a list, got "203.0.113.0/24"',
    ],
    [
      { allowedSourceCidrs: ['203.0.113.0/24', '203.0.113.0/24'] },
      'okepay.allowedSourceCidrs lists a CIDR twice',
    ],
  ])('rejects %j', (input, message) => {
    expect(() => resolvePipelineSettings(input)).toThrow(message);
  });

  it.each([
    ['follows eventRetentionDays by default', { eventRetentionDays: 30 }, 30],
    ['keeps an explicit archiveRetentionDays', { eventRetentionDays: 30, archiveRetentionDays: 365 }, 365],
    ['keeps 0 (forever) when asked', { archiveRetentionDays: 0 }, 0],
  ])('archive retention %s', (_, input, days) => {
    expect(resolvePipelineSettings(input).archiveRetentionDays).toBe(days);
  });

  it('lists every problem at once', () => {
    const error = (() => {
      try {
        resolvePipelineSettings({ maxReceiveCount: 0, batchSize: 0 });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PipelineSettingsError);
    expect((error as PipelineSettingsError).problems).toHaveLength(2);
  });

  it.each([
    ['a string that is not JSON', '{maxReceiveCount:3}'],
    ['a list', [1, 2]],
    ['a number', 5],
  ])('rejects a context value that is %s', (_, value) => {
    expect(() => resolvePipelineSettings(value)).toThrow('okepay context must be a JSON object');
  });
});

describe('OkePayPipelineStack settings', () => {
  it('fails the synth on a bad cdk.json value, naming the setting', () => {
    expect(() => buildApp({ contextSettings: { maxReceiveCount: 0 } })).toThrow(
      'okepay.maxReceiveCount must be an integer from 1 to 1000, got 0',
    );
  });

  it('fails the synth on a source CIDR that is not one, naming the setting and the entry', () => {
    expect(() =>
      buildApp({ contextSettings: { allowedSourceCidrs: ['203.0.113.0/24', '10.0.0.1'] } }),
    ).toThrow('okepay.allowedSourceCidrs.1 must be an IPv4 or IPv6 CIDR');
  });

  it('fails the synth on reserved concurrency below the maximum concurrency', () => {
    expect(() =>
      buildApp({ contextSettings: { consumerMaxConcurrency: 50, consumerReservedConcurrency: 20 } }),
    ).toThrow('okepay.consumerReservedConcurrency must be at least consumerMaxConcurrency (50), got 20');
  });

  it('fails the synth on a bad prop, naming the setting', () => {
    expect(() => buildApp({ settings: { apiRateLimit: -1 } })).toThrow(
      'okepay.apiRateLimit must be an integer from 1 to 50000, got -1',
    );
  });
});
