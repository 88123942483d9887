import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from '../../functions/ingest/config.ts';
import { ConfigurationError } from '../../functions/shared/config.ts';

const base = {
  TABLE_NAME: 'events',
  QUEUE_URL: 'http://127.0.0.1/queue',
  OKEPAY_WEBHOOK_SECRETS: '["a","b"]',
};

describe('loadIngestConfig', () => {
  it('applies the defaults', () => {
    expect(loadIngestConfig(base)).toEqual({
      tableName: 'events',
      queueUrl: 'http://127.0.0.1/queue',
      secretSource: { kind: 'env', secrets: ['a', 'b'] },
      signatureScheme: 'body',
      toleranceSeconds: 300,
      retentionDays: 90,
      dedupRetentionDays: 1095,
      revisionPolicy: 'hold',
    });
  });

  it('reads OKEPAY_ALLOWED_SOURCE_CIDRS into an allowlist', () => {
    const config = loadIngestConfig({
      ...base,
      OKEPAY_ALLOWED_SOURCE_CIDRS: '203.0.113.0/24,2001:db8::/32',
    });
    expect(config.allowedSources?.cidrs).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    expect(config.allowedSources?.allows('203.0.113.5')).toBe(true);
  });

  it.each([
    [
      'a CIDR without a prefix',
      '203.0.113.0',
      /OKEPAY_ALLOWED_SOURCE_CIDRS must be a comma-separated list of CIDRs: "203.0.113.0" is not/,
    ],
    [
      'a prefix too long',
      '2001:db8::/200',
      /OKEPAY_ALLOWED_SOURCE_CIDRS must be a comma-separated list of CIDRs/,
    ],
    ['only commas', ',,', /OKEPAY_ALLOWED_SOURCE_CIDRS holds no CIDR, got ",,"/],
  ])('refuses OKEPAY_ALLOWED_SOURCE_CIDRS with %s, naming the variable', (_, value, message) => {
    const load = () => loadIngestConfig({ ...base, OKEPAY_ALLOWED_SOURCE_CIDRS: value });
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(message);
  });

  it('reads the revision policy and the dedup retention', () => {
    const config = loadIngestConfig({
      ...base,
      OKEPAY_REVISION_POLICY: 'publish',
      OKEPAY_DEDUP_RETENTION_DAYS: '400',
    });
    expect(config).toMatchObject({ revisionPolicy: 'publish', dedupRetentionDays: 400 });
  });

  it.each([
    [{ OKEPAY_REVISION_POLICY: 'drop' }, /OKEPAY_REVISION_POLICY must be one of hold, publish, got "drop"/],
    [
      { OKEPAY_RETENTION_DAYS: '365', OKEPAY_DEDUP_RETENTION_DAYS: '30' },
      /OKEPAY_DEDUP_RETENTION_DAYS must be at least OKEPAY_RETENTION_DAYS \(365\)/,
    ],
  ])('refuses %o', (env, message) => {
    expect(() => loadIngestConfig({ ...base, ...env })).toThrow(message);
  });

  it('reads a Secrets Manager ARN instead of a list', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay-webhook-AbCdEf';
    const config = loadIngestConfig({
      ...base,
      OKEPAY_WEBHOOK_SECRETS: undefined,
      OKEPAY_WEBHOOK_SECRET_ARN: arn,
    });
    expect(config.secretSource).toEqual({ kind: 'secrets-manager', arn });
  });

  it('reads the scheme, tolerance and retention', () => {
    const config = loadIngestConfig({
      ...base,
      OKEPAY_SIGNATURE_SCHEME: 'timestamp.body',
      OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '60',
      OKEPAY_RETENTION_DAYS: '30',
    });
    expect(config).toMatchObject({
      signatureScheme: 'timestamp.body',
      toleranceSeconds: 60,
      retentionDays: 30,
    });
  });

  it.each([
    ['TABLE_NAME missing', { TABLE_NAME: undefined }, 'TABLE_NAME is required'],
    ['QUEUE_URL blank', { QUEUE_URL: '  ' }, 'QUEUE_URL is required'],
    [
      'no secrets at all',
      { OKEPAY_WEBHOOK_SECRETS: undefined },
      'OKEPAY_WEBHOOK_SECRET_ARN or OKEPAY_WEBHOOK_SECRETS',
    ],
    [
      'an empty secret list',
      { OKEPAY_WEBHOOK_SECRETS: '[" ", ""]' },
      'OKEPAY_WEBHOOK_SECRETS holds no secret',
    ],
    ['both secret sources', { OKEPAY_WEBHOOK_SECRET_ARN: 'arn:aws:x' }, 'both set'],
    [
      'an ARN that is not one',
      { OKEPAY_WEBHOOK_SECRETS: undefined, OKEPAY_WEBHOOK_SECRET_ARN: 'okepay' },
      'ARN',
    ],
    [
      'an unknown scheme',
      { OKEPAY_SIGNATURE_SCHEME: 'hmac' },
      'OKEPAY_SIGNATURE_SCHEME must be one of body, timestamp.body',
    ],
    [
      'a non-numeric tolerance',
      { OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '5m' },
      'OKEPAY_SIGNATURE_TOLERANCE_SECONDS',
    ],
    ['a zero tolerance', { OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '0' }, 'from 1 to 86400'],
    ['a negative retention', { OKEPAY_RETENTION_DAYS: '-1' }, 'OKEPAY_RETENTION_DAYS'],
  ])('refuses %s with a message naming the variable', (_name, overrides, message) => {
    expect(() => loadIngestConfig({ ...base, ...overrides })).toThrow(ConfigurationError);
    expect(() => loadIngestConfig({ ...base, ...overrides })).toThrow(message);
  });
});
