/**
 * The pipeline's deploy-time settings: one zod schema gives the TypeScript type, the defaults and the
 * validation, so a bad value fails `cdk synth` with a message naming the setting instead of failing a
 * CloudFormation deployment halfway.
 *
 * Sources, later wins: the defaults below, the `okepay` object of the CDK context (cdk.json, or
 * `-c okepay='{"maxReceiveCount":3}'` on the command line), the stack props.
 */
import { isIP } from 'node:net';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { DEFAULT_DEDUP_RETENTION_DAYS, REVISION_POLICIES } from '../functions/ingest/receive-ipn.ts';
import { DEFAULT_EVENT_SOURCE } from '../functions/shared/canonical/constants.ts';
import { SIGNATURE_SCHEMES } from '../functions/shared/ipn/signature.ts';
import { PipelineSettingsError } from './errors.ts';

/** The CDK context key holding the settings object. */
export const SETTINGS_CONTEXT_KEY = 'okepay';

function show(value: unknown): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
}

/** A number that passes `test`; any other value gets "must be <what>, got <value>". */
function numberWhere(test: (n: number) => boolean, what: string) {
  const message = (input: unknown) => `must be ${what}, got ${show(input)}`;
  return z
    .number({ error: (issue) => message(issue.input) })
    .refine(test, { error: (issue) => message(issue.input) });
}

function integer(min: number, max: number) {
  return numberWhere((n) => Number.isInteger(n) && n >= min && n <= max, `an integer from ${min} to ${max}`);
}

function oneOf<T extends string>(values: readonly T[]) {
  return z.literal(values, {
    error: (issue) => `must be one of ${values.join(', ')}, got ${show(issue.input)}`,
  });
}

function matching(pattern: RegExp, what: string) {
  const message = (input: unknown) => `must be ${what}, got ${show(input)}`;
  return z
    .string({ error: (issue) => message(issue.input) })
    .regex(pattern, { error: (issue) => message(issue.input) });
}

function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (issue) => `must be a list, got ${show(issue.input)}` });
}

/** The retention periods CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653 days). */
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

/** `address/prefix` with a valid IPv4 (prefix 0-32) or IPv6 (prefix 0-128) address. */
function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match?.[1] || !match[2]) return false;
  const family = isIP(match[1]);
  const prefix = Number(match[2]);
  return family !== 0 && prefix <= (family === 4 ? 32 : 128);
}

function cidr() {
  const message = (input: unknown) =>
    `must be an IPv4 or IPv6 CIDR such as "203.0.113.0/24" or "2001:db8::/32", got ${show(input)}`;
  return z
    .string({ error: (issue) => message(issue.input) })
    .refine(isCidr, { error: (issue) => message(issue.input) });
}

const accountId = matching(/^\d{12}$/, 'a 12-digit AWS account id');

/**
 * SQS deletes a dead letter 14 days after it was first sent to the IPN queue, which keeps messages
 * 4 days: a message can reach the DLQ with only 10 days left, and the DLQ's age metric counts from
 * its arrival there. The age alarm must leave at least a day of those 10 to act (lib/ipn-queues.ts).
 */
export const MAX_DEAD_LETTER_AGE_ALARM_HOURS = 9 * 24;

/** What `detail.raw` may carry on the bus (the consumer and replay read it as OKEPAY_RAW_ON_BUS). */
export const RAW_ON_BUS_MODES = ['all', 'none', 'redact'] as const;

/**
 * A dot path of the okePay payload: keys of letters, digits, "_", "$" or "-", joined by dots. The same
 * rule as the functions' reading of OKEPAY_RAW_REDACT_PATHS (functions/shared/canonical/raw-on-bus.ts),
 * so a path the synth accepts never fails a cold start.
 */
const RAW_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/** SQS's visibility timeout for the consumer's queue: six times its timeout plus the batching window. */
export function visibilityTimeoutSeconds(settings: {
  consumerTimeoutSeconds: number;
  maxBatchingWindowSeconds: number;
}): number {
  // AWS's advice for queues feeding Lambda, so a retried invocation never sees a message another one
  // still processes.
  return 6 * settings.consumerTimeoutSeconds + settings.maxBatchingWindowSeconds;
}

const settingsObject = z.strictObject({
  /** Steady-state requests per second the IPN endpoint accepts before answering 429. */
  // Above the account's default API Gateway quota (10,000 requests/s, 5,000 burst per Region) only
  // after a Service Quotas increase: the stage cannot go past the account (docs/DEPLOY.md, Throughput).
  apiRateLimit: integer(1, 50_000).default(50),
  /** Requests the IPN endpoint accepts in a burst above the rate. */
  apiBurstLimit: integer(1, 50_000).default(100),
  /** Memory of every function, in MB (CPU scales with it). */
  functionMemoryMb: integer(128, 10_240).default(512),
  /** Ingest timeout. API Gateway HTTP APIs wait at most 30 s for an integration. */
  ingestTimeoutSeconds: integer(3, 30).default(15),
  /**
   * Consumer timeout. The handler keeps 3 s back to mark items published, so less than 10 s leaves it
   * almost no time to publish. The queue's visibility timeout is derived from it.
   */
  consumerTimeoutSeconds: integer(10, 900).default(30),
  /** Retention of the function, API access and rule audit log groups. */
  logRetentionDays: numberWhere(
    (days) => (LOG_RETENTION_DAYS as number[]).includes(days),
    `one of the retention periods CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')})`,
  ).default(RetentionDays.THREE_MONTHS),
  /** Reserved concurrency of the ingest function; none by default (it uses the account's pool). */
  ingestReservedConcurrency: integer(1, 10_000).optional(),
  /**
   * Reserved concurrency of the consumer function; none by default. Leave it unset or at least
   * `consumerMaxConcurrency`: below it, the event source's pollers are throttled, and a throttled
   * invocation still counts as a receive of every message of its batch, so messages reach the DLQ
   * without having been processed.
   */
  consumerReservedConcurrency: integer(1, 10_000).optional(),
  /**
   * The consumer's brake: the most concurrent invocations the SQS event source starts (Lambda's
   * "maximum concurrency", 2 to 1,000). Unlike reserved concurrency, reaching it leaves messages in the
   * queue instead of throttling invocations. Default 10: each invocation makes about one PutEvents call
   * a batch, so 10 of them stay well inside the smallest Regions' PutEvents quota, and the queue absorbs
   * a burst (docs/DEPLOY.md "Throughput").
   */
  consumerMaxConcurrency: integer(2, 1_000).default(10),
  /** Receives of a message before SQS moves it to the dead-letter queue. */
  maxReceiveCount: integer(1, 1_000).default(5),
  /** Messages per consumer invocation (more than 10 needs a batching window). */
  batchSize: integer(1, 10_000).default(10),
  /**
   * Seconds the event source may wait to fill a batch; 0 invokes as soon as messages arrive.
   * Default 1: at a low IPN rate it roughly halves the consumer invocations and PutEvents calls per
   * event for about a second of added latency (bench/batching-window.ts).
   */
  maxBatchingWindowSeconds: integer(0, 300).default(1),
  /**
   * Days the bus archive keeps every event for EventBridge replay; 0 keeps them forever. Default:
   * `eventRetentionDays`, so the events (customer data in `raw` included) are not kept longer on the
   * bus than in the table.
   */
  archiveRetentionDays: integer(0, 36_500).optional(),
  /** What okePay's HMAC covers: the raw body, or `<t>.<raw body>` (see README "Signature"). */
  signatureScheme: oneOf(SIGNATURE_SCHEMES).default('body'),
  /** Allowed distance, either way, between the signature timestamp and now. */
  signatureToleranceSeconds: integer(1, 86_400).default(300),
  /** Days a stored event is kept in the table (its TTL). */
  eventRetentionDays: integer(1, 3_650).default(90),
  /**
   * Days the small dedup marker of each body is kept (its TTL): a captured request sent again after
   * the stored body expired is still a duplicate (counted as `IpnExpiredDuplicate`) instead of being
   * stored and published a second time. At least `eventRetentionDays`.
   */
  dedupRetentionDays: integer(1, 36_500).default(DEFAULT_DEDUP_RETENTION_DAYS),
  /**
   * A body with a known `payment_id` + `event` but different content: `hold` keeps it for an
   * operator to release or discard (`npx okepay revisions`); `publish` publishes it at once as its
   * own canonical event.
   */
  revisionPolicy: oneOf(REVISION_POLICIES).default('hold'),
  /**
   * Minutes a stored event may stay unpublished before the sweeper counts it as stuck and enqueues it
   * again. At least the queue's visibility timeout, so a message still being retried is left alone.
   */
  sweepGraceMinutes: integer(1, 1_440).default(15),
  /** Minutes between two sweeper runs (each also publishes the gauges the alarms read). */
  sweepIntervalMinutes: integer(1, 60).default(5),
  /** `source` of the events on the bus; `aws.` is reserved by AWS. */
  eventSource: matching(
    /^(?!aws\.)[\x20-\x7e]{1,256}$/,
    'a printable ASCII string of 1 to 256 characters not starting with "aws."',
  ).default(DEFAULT_EVENT_SOURCE),
  /** Name of the event bus; CloudFormation generates a unique one by default. */
  eventBusName: matching(
    /^[/.\-_A-Za-z0-9]{1,256}$/,
    'an event bus name (1-256 letters, digits, ".", "-", "_", "/")',
  )
    .refine((name) => name !== 'default', {
      error: 'must not be "default": the pipeline needs its own bus',
    })
    .optional(),
  /**
   * Use an existing secret instead of creating one: its complete ARN, with the 6-character suffix
   * Secrets Manager appends, so the ingest policy can name it exactly.
   */
  webhookSecretArn: matching(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/,
    'the complete ARN of a Secrets Manager secret (ending in the 6-character suffix, e.g. "...:secret:okepay-AbCdEf")',
  ).optional(),
  /**
   * What `detail.raw` (the okePay payload) carries on the bus: `all` of it, `none` (null), or everything
   * but `redactPaths` (`redact`). The stored item always keeps the whole body.
   */
  rawOnBus: z
    .strictObject(
      {
        mode: oneOf(RAW_ON_BUS_MODES).default('all'),
        /** Dot paths inside the okePay payload, e.g. "customer.email"; only with mode `redact`. */
        redactPaths: list(
          matching(RAW_PATH, 'a dot path of the okePay payload such as "customer.email"'),
        ).default([]),
      },
      { error: (issue) => `must be an object { "mode", "redactPaths" }, got ${show(issue.input)}` },
    )
    .default({ mode: 'all', redactPaths: [] }),
  /**
   * Source addresses allowed to call the IPN endpoint, as IPv4 or IPv6 CIDRs (e.g. okePay's published
   * ranges); empty allows every address. HTTP APIs cannot take AWS WAF, so the ingest function checks
   * the caller's address first and answers 403 to any other, before it reads a secret or the body.
   */
  allowedSourceCidrs: list(cidr()).default([]),
  /** Accounts allowed to create rules on the bus, each managing only the rules it created. */
  subscriberAccountIds: list(accountId).default([]),
  /** Send alarm notifications to this existing SNS topic. */
  alarmTopicArn: matching(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    'an SNS topic ARN',
  ).optional(),
  /** Create an SNS topic for alarm notifications and subscribe these addresses. */
  alarmEmails: list(matching(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address')).default([]),
  /** Create an SNS topic for alarm notifications even without e-mail subscriptions. */
  createAlarmTopic: z
    .boolean({ error: (issue) => `must be true or false, got ${show(issue.input)}` })
    .default(false),
  /** Signature failures in 5 minutes that raise the alarm. */
  signatureFailureAlarmThreshold: integer(1, 1_000_000).default(10),
  /** Share of IPN requests answered 5xx over 5 minutes, in percent, that raises the alarm. */
  ingest5xxAlarmPercent: integer(1, 100).default(5),
  /** Age of the oldest queued IPN, in seconds, that raises the alarm. */
  oldestMessageAlarmSeconds: integer(60, 1_209_600).default(600),
  /**
   * Hours a message may wait in the dead-letter queue before the age alarm: well before SQS deletes
   * it (see MAX_DEAD_LETTER_AGE_ALARM_HOURS).
   */
  deadLetterAgeAlarmHours: integer(1, MAX_DEAD_LETTER_AGE_ALARM_HOURS).default(24),
  /**
   * Share of requests to the API answered 4xx, in percent, that raises the alarm when it lasts
   * 15 minutes (periods with fewer than 10 requests do not count).
   */
  api4xxAlarmPercent: integer(1, 100).default(10),
  /** Requests answered 429 (over apiRateLimit/apiBurstLimit) in 5 minutes that raise the alarm. */
  apiThrottledAlarmThreshold: integer(1, 1_000_000).default(10),
});

const settingsSchema = settingsObject
  .superRefine((settings, context) => {
    const problem = (path: string, message: string) =>
      context.addIssue({ code: 'custom', path: [path], message });
    if (settings.batchSize > 10 && settings.maxBatchingWindowSeconds < 1) {
      problem(
        'batchSize',
        `above 10 needs maxBatchingWindowSeconds of at least 1, got ${settings.batchSize}`,
      );
    }
    if (
      settings.consumerReservedConcurrency !== undefined &&
      settings.consumerReservedConcurrency < settings.consumerMaxConcurrency
    ) {
      problem(
        'consumerReservedConcurrency',
        `must be at least consumerMaxConcurrency (${settings.consumerMaxConcurrency}), got ` +
          `${settings.consumerReservedConcurrency}: below it, throttled invocations count as receives and ` +
          'send messages to the DLQ unprocessed; leave it unset, or lower consumerMaxConcurrency instead',
      );
    }
    if (new Set(settings.allowedSourceCidrs).size !== settings.allowedSourceCidrs.length) {
      problem('allowedSourceCidrs', `lists a CIDR twice: ${show(settings.allowedSourceCidrs)}`);
    }
    if (settings.apiBurstLimit < settings.apiRateLimit) {
      problem(
        'apiBurstLimit',
        `must be at least apiRateLimit (${settings.apiRateLimit}), got ${settings.apiBurstLimit}`,
      );
    }
    if (settings.alarmTopicArn && (settings.alarmEmails.length > 0 || settings.createAlarmTopic)) {
      problem(
        'alarmTopicArn',
        'is set together with alarmEmails or createAlarmTopic: either use an existing topic or create one',
      );
    }
    if (settings.dedupRetentionDays < settings.eventRetentionDays) {
      problem(
        'dedupRetentionDays',
        `must be at least eventRetentionDays (${settings.eventRetentionDays}), got ${settings.dedupRetentionDays}: ` +
          'the dedup marker exists to outlive the stored body; raise dedupRetentionDays with eventRetentionDays',
      );
    }
    const visibilitySeconds = visibilityTimeoutSeconds(settings);
    if (settings.sweepGraceMinutes * 60 < visibilitySeconds) {
      problem(
        'sweepGraceMinutes',
        `must cover the queue's visibility timeout (${visibilitySeconds} s = 6 × consumerTimeoutSeconds + ` +
          `maxBatchingWindowSeconds), got ${settings.sweepGraceMinutes} min: an event whose message is still ` +
          'being retried is not stuck',
      );
    }
    if (new Set(settings.subscriberAccountIds).size !== settings.subscriberAccountIds.length) {
      problem('subscriberAccountIds', `lists an account twice: ${show(settings.subscriberAccountIds)}`);
    }
    const { mode, redactPaths } = settings.rawOnBus;
    if (mode === 'redact' && redactPaths.length === 0) {
      problem(
        'rawOnBus',
        'has mode "redact" but no redactPaths: list the paths to remove, e.g. ["customer.email"]',
      );
    }
    if (mode !== 'redact' && redactPaths.length > 0) {
      problem('rawOnBus', `has redactPaths, which only mode "redact" reads, with mode "${mode}"`);
    }
  })
  .transform((settings) => ({
    ...settings,
    archiveRetentionDays: settings.archiveRetentionDays ?? settings.eventRetentionDays,
  }));

/** The settings as given: every key optional (the defaults fill the gaps). */
export type PipelineSettingsInput = z.input<typeof settingsSchema>;
/** The settings after defaults and validation. */
export type PipelineSettings = z.output<typeof settingsSchema>;

/** Every known setting, for the "unknown setting" message. */
export const SETTING_NAMES = Object.keys(settingsObject.shape).sort();

/** The context value as an object: `-c okepay=...` on the command line arrives as a JSON string. */
function contextObject(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new PipelineSettingsError([
        `${SETTINGS_CONTEXT_KEY} context must be a JSON object, got ${show(value)} (${(error as Error).message})`,
      ]);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PipelineSettingsError([
      `${SETTINGS_CONTEXT_KEY} context must be a JSON object, got ${show(value)}`,
    ]);
  }
  return parsed as Record<string, unknown>;
}

function withoutUndefined(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

/**
 * Merges the defaults, the `okepay` context value and the props, and validates the result.
 * Throws {@link PipelineSettingsError} listing every problem, each as `okepay.<setting> <problem>`.
 */
export function resolvePipelineSettings(
  context: unknown,
  props: PipelineSettingsInput = {},
): PipelineSettings {
  const merged = { ...contextObject(context), ...withoutUndefined(props) };
  const result = settingsSchema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.path.length > 0) {
      const parent = `${SETTINGS_CONTEXT_KEY}.${issue.path.join('.')}`;
      return issue.keys.map((key) => `${parent}.${key} is not a key of ${parent}`);
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (key) =>
          `${SETTINGS_CONTEXT_KEY}.${key} is not a setting; the settings are ${SETTING_NAMES.join(', ')}`,
      );
    }
    return [`${SETTINGS_CONTEXT_KEY}.${issue.path.join('.')} ${issue.message}`];
  });
  throw new PipelineSettingsError(problems);
}
