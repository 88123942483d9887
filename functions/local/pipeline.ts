/**
 * The whole pipeline on one machine: DynamoDB (dynalite, persisted), SQS (local-aws-sqs), the local
 * EventBridge endpoint with the rule files, the IPN endpoint and the queue poller, all on 127.0.0.1,
 * running the very handlers and SDK adapters that run in Lambda. The handlers find the servers through
 * the SDK's standard endpoint variables, set here before the handlers are first imported.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
// The same pure function the CDK construct applies to the shipped rules (no CDK in it).
import { withReplayClause } from '../../lib/payment-event-pattern.ts';
import { sweepStuckEvents } from '../operations/sweep-stuck-events.ts';
import { rawOnBusFromEnv } from '../shared/canonical/raw-on-bus.ts';
import type { QueuedIpn } from '../shared/queue/ipn-queue.ts';
import { SqsIpnQueue } from '../shared/queue/sqs-ipn-queue.ts';
import {
  DEFAULT_RULES_DIR,
  type LocalTarget,
  type RuleDefinition,
  readRuleDirectories,
} from '../shared/rules/rule-file.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { TABLE_KEYS } from '../shared/store/table-design.ts';
import { readBody, toHttpApiEvent, writeHttpApiResult } from './api-gateway-adapter.ts';
import { LOCAL_HOST, LOCAL_REGION, type RunningServer, startDynamoDb, startSqs } from './aws-servers.ts';
import { type EventBusServer, envelopeJson, startEventBusServer } from './event-bus-server.ts';
import type { Inspector } from './inspector/inspector-server.ts';
import { createEventsTable, createQueues, type ProvisionedQueues } from './provision.ts';
import { QueuePoller, type SqsHandler } from './queue-poller.ts';
import {
  RecentSignatureFailures,
  recordIfSignatureRefused,
  signatureFailureLine,
  signatureSettingsFromEnv,
} from './recent-signature-failures.ts';
import { TargetDelivery } from './rule-targets.ts';

/** Used when OKEPAY_WEBHOOK_SECRETS is not set; printed at start so `okepay send` can use it. */
export const DEV_WEBHOOK_SECRET = 'whsec_local_development_only';
export const LOCAL_TABLE_NAME = 'okepay-events';
export const LOCAL_QUEUE_NAME = 'okepay-ipn';
export const LOCAL_DLQ_NAME = 'okepay-ipn-dlq';
export const LOCAL_BUS_NAME = 'okepay-local';
export const IPN_ROUTE = 'POST /okepay/ipn';
export const ENDPOINTS_FILE = 'endpoints.json';
export const BUS_LOG_FILE = 'bus.jsonl';
/**
 * When each event reached the local bus (`{ "id", "at" }`) and which rules matched it
 * (`{ "id", "rule", "at" }`): bus.jsonl keeps the envelopes exactly, so this is kept beside it.
 */
export const MATCH_LOG_FILE = 'matches.jsonl';

export interface LocalPipelineOptions {
  /** Port of the IPN endpoint; 0 picks a free one. Default 3000. */
  port?: number;
  /** Default `.okepay-local` in the working directory. */
  dataDir?: string;
  /** Rule directories besides events/rules. */
  ruleDirs?: readonly string[];
  /** Webhook secrets; default DEV_WEBHOOK_SECRET. */
  secrets?: readonly string[];
  signatureScheme?: string;
  toleranceSeconds?: number;
  eventSource?: string;
  /** As the stack's props: receives before the DLQ, and the retry delay of failed records. */
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** The consumer's time budget per batch. Default 30 s, as the stack. */
  consumerTimeoutMs?: number;
  /**
   * How often the sweeper runs, as the stack's scheduled sweeper does (default 30 s; 0 turns it off),
   * and how old an unpublished event must be before it enqueues it again (default 60 s: the local
   * queue is fast, and a developer should not wait the stack's 15 minutes).
   */
  sweepIntervalMs?: number;
  sweepGraceMs?: number;
  /** Where status lines go; default stdout. */
  print?: (line: string) => void;
  /**
   * Port of the inspector page (functions/local/inspector/); 0 picks a free one. Default: no inspector
   * (`okepay serve` asks for one on 4040).
   */
  inspectorPort?: number;
  /** When `inspectorPort` is taken, use a free port instead of failing (`okepay serve`'s default port). */
  inspectorPortFallback?: boolean;
}

export interface LocalEndpoints {
  ipnUrl: string;
  region: string;
  dynamodb: string;
  sqs: string;
  eventbridge: string;
  tableName: string;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  eventBusName: string;
  eventSource: string;
  /** The rawOnBus setting (OKEPAY_RAW_ON_BUS) as JSON, so a CLI replay shares what the consumer shares. */
  rawOnBus: string;
  pid: number;
  startedAt: string;
  /** The inspector page, when one was asked for. */
  inspectorUrl?: string;
}

export interface LocalPipeline {
  endpoints: LocalEndpoints;
  dataDir: string;
  rules: RuleDefinition[];
  secrets: readonly string[];
  bus: EventBusServer<LocalTarget>;
  /** Re-enqueued at start: stored events not yet published (after a crash or kill -9). */
  recovered: number;
  /** http target deliveries a previous run left unfinished, redelivered at start. */
  redelivering: number;
  /** The latest 401s (bounded, in memory), each with the doctor's diagnosis; nothing is stored for them. */
  signatureFailures: RecentSignatureFailures;
  stop(): Promise<void>;
}

/** Sets a variable unless the user set it: the local defaults must not override explicit choices. */
function defaultEnv(name: string, value: string): void {
  if (process.env[name] === undefined) process.env[name] = value;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * The queue server keeps messages in memory, so a crash loses what was queued but not consumed. The
 * table is the record: every stored event not yet published is enqueued again at start; the consumer
 * skips any that turn out to be published.
 */
async function requeueUnpublished(
  dynamoDb: DynamoDBClient,
  sqs: SQSClient,
  tableName: string,
  queueUrl: string,
) {
  let requeued = 0;
  const pages = paginateScan(
    { client: dynamoDb },
    {
      TableName: tableName,
      ConsistentRead: true,
      FilterExpression: '#status = :received',
      ExpressionAttributeNames: { '#status': 'status', '#pk': TABLE_KEYS.partitionKey },
      ExpressionAttributeValues: { ':received': { S: 'received' } },
      ProjectionExpression: '#pk, paymentId, event, revisionHash, bodySha256, receivedAt',
    },
  );
  for await (const page of pages) {
    const messages: QueuedIpn[] = (page.Items ?? []).map((item) => ({
      v: 1,
      paymentId: item.paymentId?.S ?? '',
      event: item.event?.S ?? '',
      // A released revision is its own stored event: its message must name it.
      ...(item.revisionHash?.S ? { revisionHash: item.revisionHash.S } : {}),
      bodySha256: item.bodySha256?.S ?? '',
      receivedAt: item.receivedAt?.S ?? '',
    }));
    for (let start = 0; start < messages.length; start += 10) {
      const batch = messages.slice(start, start + 10);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(message),
          })),
        }),
      );
      requeued += batch.length;
    }
  }
  return requeued;
}

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dataDir = resolve(options.dataDir ?? '.okepay-local');
  mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
  const secrets = options.secrets?.length ? options.secrets : [DEV_WEBHOOK_SECRET];
  const eventSource = options.eventSource ?? 'okepay';
  const shipped = new Set(readRuleDirectories([DEFAULT_RULES_DIR]).map((rule) => rule.file));
  // As the stack deploys them: the shipped rules are subscriptions named after their files, taking live
  // events and the replays for everyone or for that name (a `--subscriber` replay reaches only its own
  // rule). Rules of --rules directories are applied as written.
  const rules = readRuleDirectories([DEFAULT_RULES_DIR, ...(options.ruleDirs ?? [])]).map((rule) =>
    shipped.has(rule.file)
      ? { ...rule, eventPattern: withReplayClause(rule.eventPattern, rule.name, 'both') }
      : rule,
  );
  const started: { close(): Promise<void> }[] = [];

  try {
    const dynamoServer = await startDynamoDb({ path: join(dataDir, 'dynamodb') });
    started.push(dynamoServer);
    const sqsServer: RunningServer = await startSqs();
    started.push(sqsServer);
    const bus = await startEventBusServer<LocalTarget>({
      buses: [LOCAL_BUS_NAME],
      rules: rules.map((rule) => ({ ...rule, eventBusName: LOCAL_BUS_NAME })),
      // bus.jsonl is the record; memory keeps only the latest, for tests and tools in this process.
      maxRecorded: 10_000,
      onError: (error) => print(`local event bus: ${error instanceof Error ? error.message : String(error)}`),
    });
    started.push(bus);

    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamoDb = new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamoServer.url, credentials });
    const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: sqsServer.url, credentials });
    await createEventsTable(dynamoDb, LOCAL_TABLE_NAME);
    const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 10;
    const queues: ProvisionedQueues = await createQueues(sqs, {
      queueName: LOCAL_QUEUE_NAME,
      deadLetterQueueName: LOCAL_DLQ_NAME,
      maxReceiveCount: options.maxReceiveCount ?? 5,
      visibilityTimeoutSeconds,
    });

    // The handlers' SDK clients read these when they are built, at the handlers' first import.
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoServer.url,
      AWS_ENDPOINT_URL_SQS: sqsServer.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
      TABLE_NAME: LOCAL_TABLE_NAME,
      QUEUE_URL: queues.queueUrl,
      EVENT_BUS_NAME: LOCAL_BUS_NAME,
      EVENT_SOURCE: eventSource,
      // A JSON array: a secret may itself contain a comma.
      OKEPAY_WEBHOOK_SECRETS: JSON.stringify(secrets),
    });
    delete process.env.OKEPAY_WEBHOOK_SECRET_ARN;
    if (options.signatureScheme) process.env.OKEPAY_SIGNATURE_SCHEME = options.signatureScheme;
    if (options.toleranceSeconds !== undefined) {
      process.env.OKEPAY_SIGNATURE_TOLERANCE_SECONDS = String(options.toleranceSeconds);
    }
    // Keep the terminal readable: handler logs at WARN and no EMF metric blobs, unless asked for.
    defaultEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    defaultEnv('POWERTOOLS_METRICS_DISABLED', 'true');

    const ingest = (await import('../ingest/handler.ts')) as {
      handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
    };
    const consumer = (await import('../consumer/handler.ts')) as unknown as { handler: SqsHandler };

    // Started below, once the signature failures it shows exist; deliveries report to it from then on.
    let inspector: Inspector | undefined;
    const deliveries = new TargetDelivery({
      baseDir: dataDir,
      print,
      onDeliveryResult: (result) => inspector?.recordDelivery(result),
      onDeliveryFailure: (rule, target, error) =>
        print(
          `rule ${rule}: delivery to ${target.type} target failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });
    const busLog = join(dataDir, BUS_LOG_FILE);
    // Synchronous, so the line is written before PutEvents answers: bus.jsonl is the bus's record.
    const matchLog = join(dataDir, MATCH_LOG_FILE);
    bus.onEvent((envelope) => {
      // envelopeJson: the detail's numbers as published (a 22-digit id keeps its digits).
      appendFileSync(busLog, `${envelopeJson(envelope)}\n`);
      appendFileSync(matchLog, `${JSON.stringify({ id: envelope.id, at: new Date().toISOString() })}\n`);
    });
    bus.onMatch((match) => {
      // Which rules matched which bus event: the timeline (`okepay events show --local`) shows it.
      appendFileSync(
        matchLog,
        `${JSON.stringify({ id: match.event.id, rule: match.rule, at: new Date().toISOString() })}\n`,
      );
      deliveries.deliver(match.rule, match.targets, match.event);
    });
    const redelivering = deliveries.recover();

    // Diagnosed with the scheme and tolerance the ingest handler has just read from the same variables.
    const signatureSettings = signatureSettingsFromEnv(secrets, process.env);
    const signatureFailures = new RecentSignatureFailures({
      onError: (error) =>
        print(`signature failures: ${error instanceof Error ? error.message : String(error)}`),
    });
    signatureFailures.onAdd((failure) => print(signatureFailureLine(failure)));
    if (options.inspectorPort !== undefined) {
      // Imported only when asked for: the page's actions pull in the CLI's commands.
      const { startInspector } = await import('./inspector/inspector-server.ts');
      inspector = await startInspector({
        port: options.inspectorPort,
        fallbackToFreePort: options.inspectorPortFallback === true,
        dataDir,
        secrets,
        signatureScheme: signatureSettings.scheme,
        bus,
        signatureFailures,
        print,
      });
      started.push(inspector);
    }

    const http = createServer((request, response) => {
      void (async () => {
        const route = `${request.method} ${new URL(request.url ?? '/', 'http://localhost').pathname}`;
        const body = await readBody(request);
        if (route !== IPN_ROUTE) {
          response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        } else if (body === undefined) {
          response
            .writeHead(413, { 'content-type': 'application/json' })
            .end('{"message":"Request Entity Too Large"}');
        } else {
          const event = toHttpApiEvent(request, body, IPN_ROUTE);
          const result = await ingest.handler(event);
          recordIfSignatureRefused(signatureFailures, signatureSettings, { event, rawBody: body, result });
          writeHttpApiResult(response, result);
          inspector?.recordIpn({ event, rawBody: body, result });
        }
      })().catch((error: unknown) => {
        print(`IPN endpoint: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"message":"Internal Server Error"}');
      });
    });
    const port = await listen(http, options.port ?? 3000);

    const recovered = await requeueUnpublished(dynamoDb, sqs, LOCAL_TABLE_NAME, queues.queueUrl);
    const poller = new QueuePoller({
      sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      region: LOCAL_REGION,
      handler: consumer.handler,
      functionTimeoutMs: options.consumerTimeoutMs ?? 30_000,
      onError: (error) => print(`queue poller: ${error instanceof Error ? error.message : String(error)}`),
    });
    poller.start();

    // The sweeper, as in the stack: finds events still unpublished after the grace period (a crash, a
    // purged DLQ) and enqueues them again, with backoff. Its log lines are the local alarms.
    const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    const sweepStore = new DynamoDbEventStore(dynamoDb, LOCAL_TABLE_NAME);
    const sweepQueue = new SqsIpnQueue(sqs, queues.queueUrl);
    let sweeping: Promise<void> | undefined;
    let lastAttention = '';
    const sweepOnce = () => {
      sweeping ??= sweepStuckEvents({
        store: sweepStore,
        queue: sweepQueue,
        now: Date.now,
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        metrics: { addMetric: () => undefined },
        settings: { graceMs: options.sweepGraceMs ?? 60_000 },
      })
        .then((report) => {
          if (report.reenqueued > 0) {
            print(
              `sweeper: enqueued ${report.reenqueued} stuck event(s) again (npx okepay stuck list --local)`,
            );
          }
          const attention = `${report.held}/${report.rejected}`;
          if (attention !== lastAttention && (report.held > 0 || report.rejected > 0)) {
            print(
              `waiting for you: ${report.held} held revision(s) (npx okepay revisions list --local), ` +
                `${report.rejected} rejected IPN(s) (npx okepay rejected list --local)`,
            );
          }
          lastAttention = attention;
        })
        .catch((error: unknown) =>
          print(`sweeper: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => {
          sweeping = undefined;
        });
      return sweeping;
    };
    const sweepTimer = sweepIntervalMs > 0 ? setInterval(sweepOnce, sweepIntervalMs) : undefined;
    sweepTimer?.unref();

    const endpoints: LocalEndpoints = {
      ipnUrl: `http://${LOCAL_HOST}:${port}/okepay/ipn`,
      region: LOCAL_REGION,
      dynamodb: dynamoServer.url,
      sqs: sqsServer.url,
      eventbridge: bus.url,
      tableName: LOCAL_TABLE_NAME,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      deadLetterQueueArn: queues.deadLetterQueueArn,
      eventBusName: LOCAL_BUS_NAME,
      eventSource,
      rawOnBus: JSON.stringify(rawOnBusFromEnv(process.env)),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...(inspector ? { inspectorUrl: inspector.url } : {}),
    };
    writeFileSync(join(dataDir, ENDPOINTS_FILE), `${JSON.stringify(endpoints, null, 2)}\n`);

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        // Order: stop taking IPNs (in-flight requests finish), let the poller finish its batch, deliver
        // what matched, then close the servers; dynalite closes its LevelDB store on close.
        await new Promise<void>((resolveClose) => {
          http.close(() => resolveClose());
          http.closeIdleConnections();
        });
        if (sweepTimer) clearInterval(sweepTimer);
        await sweeping;
        await poller.stop();
        await deliveries.drain();
        dynamoDb.destroy();
        sqs.destroy();
        for (const server of started.reverse()) await server.close();
      })();
      return stopping;
    };
    return { endpoints, dataDir, rules, secrets, bus, recovered, redelivering, signatureFailures, stop };
  } catch (error) {
    for (const server of started.reverse()) await server.close().catch(() => undefined);
    throw error;
  }
}
