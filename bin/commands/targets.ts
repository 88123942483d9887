/**
 * Where `replay` and `dlq` act: the local pipeline of `npm start` (`--local`, from the endpoints file
 * it writes) or a deployed stack (`--stack`, from its CloudFormation outputs, with the user's AWS
 * credentials). Either way the result is the resource names and SDK clients pointed at them.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DEFAULT_EVENT_SOURCE } from '../../functions/shared/canonical/constants.ts';
import type { RawOnBus } from '../../functions/shared/canonical/normalise.ts';
import { UsageError } from './command.ts';

export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export const TARGET_USAGE = `Target (exactly one of --local and --stack):
  --local              the local pipeline started by \`npm start\` (reads <data dir>/endpoints.json)
  --data-dir DIR       its data directory (default: $OKEPAY_DATA_DIR, else .okepay-local)
  --stack NAME         a deployed okepay-pipeline stack, found by its CloudFormation outputs
  --region REGION      the stack's Region (default: $AWS_REGION or the profile's)
  --profile NAME       the AWS profile whose credentials to use (default: $AWS_PROFILE or default)`;

export interface TargetValues {
  local?: boolean;
  'data-dir'?: string;
  stack?: string;
  region?: string;
  profile?: string;
}

export interface Target {
  /** For messages: "the local pipeline (.okepay-local)" or "stack okepay in eu-west-1". */
  description: string;
  kind: 'local' | 'stack';
  tableName: string;
  eventBusName: string;
  eventSource: string;
  /** What `detail.raw` carries on this bus (stack setting rawOnBus), so a CLI replay shares no more. */
  rawOnBus: RawOnBus;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  dynamoDb: DynamoDBClient;
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  /** Closes the clients' connections. */
  destroy(): void;
}

/** The target cannot be reached or is not what it should be; the message says what to do. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/**
 * SDK settings of the CLI's clients. A CLI waits longer than a Lambda (a slow network, a far Region),
 * but not forever: the SDK's default has no timeout at all, and a `requestTimeout` without
 * `throwOnRequestTimeout` only logs a warning. The request timeout runs until the response headers;
 * the socket timeout ends a response that stops arriving (a large Query page on a slow link keeps
 * arriving, so it is not cut). A socket timeout of 6 s or more is armed 3 s after the connection, so an
 * attempt ends within `timeoutMs` + 3 s; a call to an endpoint that never answers fails after
 * 3 × 10 s plus backoff, the 30 s the CLI used to allow one request.
 */
export function cliClientSettings(timeoutMs = 10_000) {
  return {
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}

const CLI_CLIENT_SETTINGS = cliClientSettings();

/** The file `npm start` writes (functions/local/pipeline.ts). */
const endpointsSchema = z.looseObject({
  ipnUrl: z.url().optional(),
  region: z.string().min(1),
  dynamodb: z.url(),
  sqs: z.url(),
  eventbridge: z.url(),
  tableName: z.string().min(1),
  queueUrl: z.string().min(1),
  queueArn: z.string().min(1),
  deadLetterQueueUrl: z.string().min(1),
  deadLetterQueueArn: z.string().min(1),
  eventBusName: z.string().min(1),
  eventSource: z.string().min(1).optional(),
  rawOnBus: z.string().optional(),
  pid: z.number().int().positive(),
  startedAt: z.string().optional(),
});

/**
 * The SDK's logger middleware builds a filtered copy of every request and response to hand to the
 * logger, even the default no-op one: some 15 % of the CLI's CPU time in a replay. The CLI logs
 * nothing through the SDK, so the middleware goes.
 */
function withoutSdkLogging<T extends { middlewareStack: { remove(name: string): boolean } }>(client: T): T {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/** The local servers check no signature; any credentials will do, as long as there are some. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function dataDirectory(values: TargetValues, env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, values['data-dir'] ?? env.OKEPAY_DATA_DIR ?? '.okepay-local');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The endpoints a running `okepay serve` wrote to `<data dir>/endpoints.json`, checked; throws
 * TargetError saying how to start the pipeline when there is none, or it is not running.
 */
export function readLocalEndpoints(values: TargetValues, env: NodeJS.ProcessEnv, cwd: string) {
  const directory = dataDirectory(values, env, cwd);
  const file = join(directory, 'endpoints.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TargetError(
      `No local pipeline found: ${file} is missing. Start it with \`npm start\` (in another terminal), ` +
        'or pass --data-dir with the directory it uses',
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TargetError(`${file} is not JSON; restart the local pipeline to rewrite it`, { cause: error });
  }
  const parsed = endpointsSchema.safeParse(json);
  if (!parsed.success) {
    throw new TargetError(
      `${file} does not describe a local pipeline (${z.prettifyError(parsed.error)}); restart it to rewrite it`,
    );
  }
  const endpoints = parsed.data;
  if (!isRunning(endpoints.pid)) {
    throw new TargetError(
      `The local pipeline that wrote ${file} (pid ${endpoints.pid}${endpoints.startedAt ? `, started ${endpoints.startedAt}` : ''}) ` +
        'is not running. Start it with `npm start`',
    );
  }
  return endpoints;
}

/** A target's three clients, without the SDK's logging middleware, and one `destroy` for all of them. */
function targetClients(dynamoDb: DynamoDBClient, eventBridge: EventBridgeClient, sqs: SQSClient) {
  const clients = {
    dynamoDb: withoutSdkLogging(dynamoDb),
    eventBridge: withoutSdkLogging(eventBridge),
    sqs: withoutSdkLogging(sqs),
  };
  return {
    ...clients,
    destroy() {
      clients.dynamoDb.destroy();
      clients.eventBridge.destroy();
      clients.sqs.destroy();
    },
  };
}

function localTarget(values: TargetValues, env: NodeJS.ProcessEnv, cwd: string): Target {
  const directory = dataDirectory(values, env, cwd);
  const endpoints = readLocalEndpoints(values, env, cwd);
  const common = {
    region: endpoints.region,
    credentials: LOCAL_CREDENTIALS,
    ...CLI_CLIENT_SETTINGS,
  };
  const clients = targetClients(
    new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }),
    new EventBridgeClient({ ...common, endpoint: endpoints.eventbridge }),
    new SQSClient({ ...common, endpoint: endpoints.sqs }),
  );
  return {
    description: `the local pipeline (${directory})`,
    kind: 'local',
    tableName: endpoints.tableName,
    eventBusName: endpoints.eventBusName,
    eventSource: endpoints.eventSource ?? DEFAULT_EVENT_SOURCE,
    rawOnBus: parseRawOnBus(endpoints.rawOnBus, `${directory}/endpoints.json rawOnBus`),
    queueUrl: endpoints.queueUrl,
    queueArn: endpoints.queueArn,
    deadLetterQueueUrl: endpoints.deadLetterQueueUrl,
    deadLetterQueueArn: endpoints.deadLetterQueueArn,
    ...clients,
  };
}

/**
 * The rawOnBus setting as the stack outputs it (JSON `{"mode":...,"paths":[...]}`) or the local pipeline
 * writes it; a stack deployed before the setting existed shares everything, as it did.
 */
function parseRawOnBus(text: string | undefined, where: string): RawOnBus {
  if (text === undefined) return { mode: 'all' };
  try {
    const parsed = JSON.parse(text) as { mode?: unknown; paths?: unknown };
    if (parsed.mode === 'all' || parsed.mode === 'none') return { mode: parsed.mode };
    if (parsed.mode === 'redact' && Array.isArray(parsed.paths)) {
      return { mode: 'redact', paths: parsed.paths.map(String) };
    }
  } catch {
    // Reported below with the value.
  }
  throw new TargetError(`${where} is not a rawOnBus setting: ${text}`);
}

/** The stack outputs the commands need (lib/ declares them); EventSource is optional. */
const REQUIRED_OUTPUTS = [
  'TableName',
  'EventBusName',
  'QueueUrl',
  'QueueArn',
  'DeadLetterQueueUrl',
  'DeadLetterQueueArn',
] as const;

type StackOutputs = Record<(typeof REQUIRED_OUTPUTS)[number], string> & {
  EventSource?: string;
  RawOnBus?: string;
};

function outputsOf(stack: Stack, name: string): StackOutputs {
  const outputs = new Map<string, string>();
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey && output.OutputValue) outputs.set(output.OutputKey, output.OutputValue);
  }
  const missing = REQUIRED_OUTPUTS.filter((key) => !outputs.has(key));
  if (missing.length > 0) {
    throw new TargetError(
      `Stack ${name} has no output ${missing.join(', ')}: is it an okepay-pipeline stack, deployed from this ` +
        'version (`npx cdk deploy`)?',
    );
  }
  const value = (key: string) => outputs.get(key) ?? '';
  const eventSource = outputs.get('EventSource');
  const rawOnBus = outputs.get('RawOnBus');
  return {
    TableName: value('TableName'),
    EventBusName: value('EventBusName'),
    QueueUrl: value('QueueUrl'),
    QueueArn: value('QueueArn'),
    DeadLetterQueueUrl: value('DeadLetterQueueUrl'),
    DeadLetterQueueArn: value('DeadLetterQueueArn'),
    ...(eventSource ? { EventSource: eventSource } : {}),
    ...(rawOnBus ? { RawOnBus: rawOnBus } : {}),
  };
}

function explainAwsError(error: unknown, name: string, where: string): TargetError {
  const cause = error as { name?: string; message?: string };
  if (cause.name === 'ValidationError' && /does not exist/.test(cause.message ?? '')) {
    return new TargetError(`Stack ${name} does not exist ${where}; check --stack and --region`, {
      cause: error,
    });
  }
  if (cause.name === 'CredentialsProviderError' || /credential/i.test(cause.message ?? '')) {
    return new TargetError(
      `No usable AWS credentials ${where} (${cause.message}). Sign in (e.g. \`aws sso login --profile NAME\`) ` +
        'and pass --profile, or set AWS_PROFILE',
      { cause: error },
    );
  }
  if (/region is missing/i.test(cause.message ?? '')) {
    return new TargetError('No AWS Region: pass --region, or set AWS_REGION', { cause: error });
  }
  return new TargetError(`Could not read stack ${name} ${where}: ${cause.message ?? String(error)}`, {
    cause: error,
  });
}

async function stackTarget(values: TargetValues, name: string): Promise<Target> {
  const config = {
    ...(values.region ? { region: values.region } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
    ...CLI_CLIENT_SETTINGS,
  };
  const where = [values.region && `in ${values.region}`, values.profile && `(profile ${values.profile})`]
    .filter(Boolean)
    .join(' ');
  const cloudFormation = new CloudFormationClient(config);
  let stack: Stack | undefined;
  let region: string;
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    stack = described.Stacks?.[0];
    region = await cloudFormation.config.region();
  } catch (error) {
    throw explainAwsError(error, name, where);
  } finally {
    cloudFormation.destroy();
  }
  if (!stack) throw new TargetError(`Stack ${name} does not exist ${where}`);
  const outputs = outputsOf(stack, name);
  const clientConfig = { ...config, region };
  const clients = targetClients(
    new DynamoDBClient(clientConfig),
    new EventBridgeClient(clientConfig),
    new SQSClient(clientConfig),
  );
  return {
    description: `stack ${name} in ${region}`,
    kind: 'stack',
    tableName: outputs.TableName,
    eventBusName: outputs.EventBusName,
    eventSource: outputs.EventSource ?? DEFAULT_EVENT_SOURCE,
    rawOnBus: parseRawOnBus(outputs.RawOnBus, `stack ${name}'s RawOnBus output`),
    queueUrl: outputs.QueueUrl,
    queueArn: outputs.QueueArn,
    deadLetterQueueUrl: outputs.DeadLetterQueueUrl,
    deadLetterQueueArn: outputs.DeadLetterQueueArn,
    ...clients,
  };
}

/** Resolves `--local` / `--stack`; throws UsageError unless exactly one is given. */
export async function resolveTarget(
  values: TargetValues,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<Target> {
  const stack = values.stack?.trim();
  if (values.local && stack) throw new UsageError('give either --local or --stack NAME, not both');
  if (!values.local && !stack) {
    throw new UsageError(
      'say where: --local for the pipeline of `npm start`, or --stack NAME for a deployed stack',
    );
  }
  if (values.local && (values.region || values.profile)) {
    throw new UsageError('--region and --profile apply to --stack; the local pipeline needs neither');
  }
  if (stack && values['data-dir']) throw new UsageError('--data-dir applies to --local, not --stack');
  return stack ? stackTarget(values, stack) : localTarget(values, env, cwd);
}
