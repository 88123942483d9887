import { ConfigurationError, integer, oneOf, optionalString, requiredString } from '../shared/config.ts';
import { SIGNATURE_SCHEMES, type SignatureScheme } from '../shared/ipn/signature.ts';
import { parseSecretList } from '../shared/secrets/webhook-secrets.ts';
import { DEFAULT_DEDUP_RETENTION_DAYS, REVISION_POLICIES, type RevisionPolicy } from './receive-ipn.ts';
import { InvalidCidrError, SourceAllowlist } from './source-allowlist.ts';

export type WebhookSecretSource =
  | { kind: 'env'; secrets: string[] }
  | { kind: 'secrets-manager'; arn: string };

export interface IngestConfig {
  tableName: string;
  queueUrl: string;
  secretSource: WebhookSecretSource;
  signatureScheme: SignatureScheme;
  toleranceSeconds: number;
  retentionDays: number;
  dedupRetentionDays: number;
  revisionPolicy: RevisionPolicy;
  /** Callers allowed to post IPNs (OKEPAY_ALLOWED_SOURCE_CIDRS); unset allows every address. */
  allowedSources?: SourceAllowlist;
}

function sourceAllowlist(env: Record<string, string | undefined>): SourceAllowlist | undefined {
  const name = 'OKEPAY_ALLOWED_SOURCE_CIDRS';
  const raw = optionalString(env, name);
  if (raw === undefined) return undefined;
  let allowlist: SourceAllowlist;
  try {
    allowlist = SourceAllowlist.parse(raw);
  } catch (error) {
    if (!(error instanceof InvalidCidrError)) throw error;
    throw new ConfigurationError(name, `must be a comma-separated list of CIDRs: ${error.message}`);
  }
  // A list that parses to nothing would refuse every caller: that is a mistake, not a setting.
  if (allowlist.cidrs.length === 0) throw new ConfigurationError(name, `holds no CIDR, got "${raw}"`);
  return allowlist;
}

/** Reads and checks the ingest function's environment; throws {@link ConfigurationError}. */
export function loadIngestConfig(env: Record<string, string | undefined>): IngestConfig {
  const secretArn = optionalString(env, 'OKEPAY_WEBHOOK_SECRET_ARN');
  const secretList = optionalString(env, 'OKEPAY_WEBHOOK_SECRETS');
  let secretSource: WebhookSecretSource;
  if (secretArn) {
    if (secretList) {
      throw new ConfigurationError(
        'OKEPAY_WEBHOOK_SECRETS',
        'and OKEPAY_WEBHOOK_SECRET_ARN are both set; set only one (the ARN in AWS, the list for development)',
      );
    }
    if (!secretArn.startsWith('arn:')) {
      throw new ConfigurationError(
        'OKEPAY_WEBHOOK_SECRET_ARN',
        `must be a Secrets Manager ARN, got "${secretArn}"`,
      );
    }
    secretSource = { kind: 'secrets-manager', arn: secretArn };
  } else if (secretList) {
    let secrets: string[];
    try {
      secrets = parseSecretList(secretList);
    } catch (error) {
      throw new ConfigurationError(
        'OKEPAY_WEBHOOK_SECRETS',
        `cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (secrets.length === 0) throw new ConfigurationError('OKEPAY_WEBHOOK_SECRETS', 'holds no secret');
    secretSource = { kind: 'env', secrets };
  } else {
    throw new ConfigurationError(
      'OKEPAY_WEBHOOK_SECRET_ARN',
      'or OKEPAY_WEBHOOK_SECRETS must be set: the ARN of the Secrets Manager secret holding the okePay ' +
        'webhook secret, or for development the secret itself (one value) or a JSON array of secrets',
    );
  }
  const retentionDays = integer(env, 'OKEPAY_RETENTION_DAYS', 90, 1, 3650);
  const dedupRetentionDays = integer(
    env,
    'OKEPAY_DEDUP_RETENTION_DAYS',
    Math.max(DEFAULT_DEDUP_RETENTION_DAYS, retentionDays),
    1,
    36_500,
  );
  if (dedupRetentionDays < retentionDays) {
    throw new ConfigurationError(
      'OKEPAY_DEDUP_RETENTION_DAYS',
      `must be at least OKEPAY_RETENTION_DAYS (${retentionDays}): the dedup marker has to outlive the body, got "${dedupRetentionDays}"`,
    );
  }
  const allowedSources = sourceAllowlist(env);
  return {
    tableName: requiredString(env, 'TABLE_NAME'),
    queueUrl: requiredString(env, 'QUEUE_URL'),
    secretSource,
    signatureScheme: oneOf(env, 'OKEPAY_SIGNATURE_SCHEME', SIGNATURE_SCHEMES, 'body'),
    toleranceSeconds: integer(env, 'OKEPAY_SIGNATURE_TOLERANCE_SECONDS', 300, 1, 86_400),
    retentionDays,
    dedupRetentionDays,
    revisionPolicy: oneOf(env, 'OKEPAY_REVISION_POLICY', REVISION_POLICIES, 'hold'),
    ...(allowedSources ? { allowedSources } : {}),
  };
}
