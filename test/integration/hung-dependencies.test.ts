/**
 * Every AWS call has a deadline that fires. The real adapters, with SDK clients configured exactly as
 * the Lambdas' (shared/clients/request-handler.ts) and the CLI's (bin/commands/targets.ts), pointed at
 * servers on 127.0.0.1 that accept a connection and never answer, or send half a response and stall
 * (test/helpers/broken-servers.ts); the services that work are dynalite and local-aws-sqs. Each test
 * asserts the outcome and how long it took: at least as long as the timeouts say (the calls did wait
 * for them), at most the budget.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { cliClientSettings, resolveTarget } from '../../bin/commands/targets.ts';
import { createConsumerSqsHandler } from '../../functions/consumer/sqs-handler.ts';
import {
  createIngestHttpHandler,
  DEFAULT_INGEST_DEADLINE_MS,
  type IngestHttpOptions,
} from '../../functions/ingest/http-handler.ts';
import { LOCAL_REGION } from '../../functions/local/aws-servers.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { ATTEMPT_TIMEOUT_MS, clientSettings } from '../../functions/shared/clients/request-handler.ts';
import { METRICS } from '../../functions/shared/observability.ts';
import { SqsIpnQueue } from '../../functions/shared/queue/sqs-ipn-queue.ts';
import { SecretsManagerWebhookSecrets } from '../../functions/shared/secrets/secrets-manager-webhook-secrets.ts';
import { StaticWebhookSecrets, type WebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { StoreUnavailableError } from '../../functions/shared/store/errors.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import {
  type BrokenServer,
  startErrorServer,
  startHalfResponseServer,
  startRefusingServer,
  startSilentServer,
} from '../helpers/broken-servers.ts';
import { RecordingLog, RecordingMetrics } from '../helpers/in-memory.ts';
import { ipnJson, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';
import { type LocalAws, startLocalAws, TEST_CREDENTIALS } from '../helpers/local-aws.ts';

/** Timers and a busy machine run late, never early: this much lateness is allowed on top of a bound. */
const LATE_MS = 750;
/** performance.now() and a timer may disagree by a millisecond or so. */
const EARLY_MS = 20;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:okepay-webhook-AbCdEf';
const BUS = 'okepay-hung';

/** What the bounds below read from a client's settings (the Lambdas' or the CLI's). */
interface CallSettings {
  maxAttempts: number;
  requestHandler: { requestTimeout: number };
}

/** The SDK's longest backoff between `attempts` attempts: 0–50 ms × 2^i before retry i. */
const backoffMs = (attempts: number) => 50 * (2 ** (attempts - 1) - 1);
/** Longest a call waits on a server that never answers: every attempt times out, plus the backoff. */
const silentCallMs = (settings: CallSettings) =>
  settings.maxAttempts * settings.requestHandler.requestTimeout + backoffMs(settings.maxAttempts);
/** Shortest: every attempt waits its whole timeout. */
const timedOutAttemptsMs = (settings: CallSettings) =>
  settings.maxAttempts * settings.requestHandler.requestTimeout - EARLY_MS;

let aws: LocalAws;
const clients: { destroy(): void }[] = [];

function tracked<T extends { destroy(): void }>(client: T): T {
  clients.push(client);
  return client;
}

const clientConfig = (endpoint: string) => ({
  region: LOCAL_REGION,
  credentials: TEST_CREDENTIALS,
  endpoint,
});
const dynamoDbAt = (endpoint: string) =>
  tracked(new DynamoDBClient({ ...clientSettings.dynamoDb, ...clientConfig(endpoint) }));
const sqsAt = (endpoint: string) =>
  tracked(new SQSClient({ ...clientSettings.sqs, ...clientConfig(endpoint) }));
const secretsManagerAt = (endpoint: string) =>
  tracked(new SecretsManagerClient({ ...clientSettings.secretsManager, ...clientConfig(endpoint) }));
const eventBridgeAt = (endpoint: string) =>
  tracked(new EventBridgeClient({ ...clientSettings.eventBridge, ...clientConfig(endpoint) }));

/** Runs `test` with a broken server started for it alone, so its request count is the test's own. */
async function withServer<T>(start: () => Promise<BrokenServer>, test: (server: BrokenServer) => Promise<T>) {
  const server = await start();
  try {
    return await test(server);
  } finally {
    await server.close();
  }
}

async function timed<T>(work: () => Promise<T>) {
  const started = performance.now();
  try {
    return { value: await work(), elapsedMs: performance.now() - started };
  } catch (error) {
    return { error, elapsedMs: performance.now() - started };
  }
}

const SERVERS = [
  ['never answers', startSilentServer],
  ['sends half a response', startHalfResponseServer],
] as const;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await aws?.close();
});

// ---------------------------------------------------------------------------------------------------
// Ingest

interface IngestEndpoints {
  dynamoDb?: string;
  sqs?: string;
  secretsManager?: string;
}

/** The ingest as functions/ingest/handler.ts wires it, with each service at the given endpoint. */
function ingestWith(endpoints: IngestEndpoints, options?: IngestHttpOptions) {
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const secrets: WebhookSecrets = endpoints.secretsManager
    ? new SecretsManagerWebhookSecrets(secretsManagerAt(endpoints.secretsManager), SECRET_ARN)
    : new StaticWebhookSecrets([TEST_SECRET]);
  const queueUrl = endpoints.sqs ? `${endpoints.sqs}/000000000000/okepay-ipn` : aws.queues.queueUrl;
  const handle = createIngestHttpHandler(
    {
      store: new DynamoDbEventStore(dynamoDbAt(endpoints.dynamoDb ?? aws.dynamoDbUrl), aws.tableName),
      queue: new SqsIpnQueue(sqsAt(endpoints.sqs ?? aws.sqsUrl), queueUrl),
      secrets,
      now: Date.now,
      log,
      metrics,
      settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 1 },
    },
    options,
  );
  return { handle, log, metrics };
}

async function postIpn(
  handle: ReturnType<typeof ingestWith>['handle'],
  paymentId: string,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
) {
  const body = ipnJson({ payment_id: paymentId });
  const event = httpApiEvent(body, signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) }));
  const { value: response, elapsedMs } = await timed(() => handle(event, context));
  return {
    status: response?.statusCode,
    body: JSON.parse(response?.body ?? 'null') as Record<string, unknown>,
    elapsedMs,
  };
}

const UNAVAILABLE = { error: 'temporarily_unavailable', message: 'The IPN was not accepted; retry later' };

const HUNG_INGEST_DEPENDENCIES = [
  ['DynamoDB', 'dynamoDb', clientSettings.dynamoDb],
  ['SQS', 'sqs', clientSettings.sqs],
  ['Secrets Manager', 'secretsManager', clientSettings.secretsManager],
] as const;

describe.concurrent('ingest, with the production client settings', () => {
  describe.each(SERVERS)('when the dependency %s', (_case, start) => {
    it.for(HUNG_INGEST_DEPENDENCIES)(
      'answers 503 once %s has timed out on every attempt, well inside the deadline',
      async ([service, key, settings], { expect }) => {
        await withServer(start, async (server) => {
          const { handle, metrics } = ingestWith({ [key]: server.url });

          const response = await postIpn(handle, `pay_hung_${key}_${start.name}`);

          expect(response.status).toBe(503);
          expect(response.body).toEqual(UNAVAILABLE);
          expect(server.requests, `${service} attempts`).toBe(settings.maxAttempts);
          expect(response.elapsedMs).toBeGreaterThanOrEqual(timedOutAttemptsMs(settings));
          expect(response.elapsedMs).toBeLessThanOrEqual(silentCallMs(settings) + LATE_MS);
          expect(response.elapsedMs).toBeLessThan(DEFAULT_INGEST_DEADLINE_MS);
          expect(metrics.count(METRICS.ingestDependencyFailure)).toBe(1);
        });
      },
    );
  });

  it.for([
    ['answers 500', startErrorServer, clientSettings.dynamoDb.maxAttempts],
    ['refuses connections', startRefusingServer, 0],
  ] as const)('answers 503 at once when DynamoDB %s', async ([, start, requests], { expect }) => {
    await withServer(start, async (server) => {
      const { handle } = ingestWith({ dynamoDb: server.url });

      const response = await postIpn(handle, `pay_broken_${start.name}`);

      expect(response.status).toBe(503);
      expect(response.body).toEqual(UNAVAILABLE);
      expect(server.requests).toBe(requests);
      expect(response.elapsedMs).toBeLessThan(ATTEMPT_TIMEOUT_MS);
    });
  });

  it('accepts an IPN when every dependency answers (the timeouts do not cut normal calls)', async ({
    expect,
  }) => {
    const { handle } = ingestWith({});
    const response = await postIpn(handle, 'pay_hung_control');
    expect(response).toMatchObject({ status: 200, body: { status: 'accepted' } });
  });
});

describe.concurrent('ingest deadline', () => {
  it('answers 503 at its deadline while a DynamoDB call is still pending, and logs what the call did later', async ({
    expect,
  }) => {
    await withServer(startSilentServer, async (server) => {
      const deadlineMs = 600;
      const { handle, log, metrics } = ingestWith({ dynamoDb: server.url }, { deadlineMs });

      const response = await postIpn(handle, 'pay_deadline');

      expect(response.status).toBe(503);
      expect(response.body).toEqual(UNAVAILABLE);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(deadlineMs - EARLY_MS);
      expect(response.elapsedMs).toBeLessThanOrEqual(deadlineMs + LATE_MS);
      expect(server.requests).toBe(1);
      expect(metrics.count(METRICS.ingestDependencyFailure)).toBe(1);
      // The abandoned call goes on to its own timeouts; its failure is logged, not thrown anywhere.
      await expect
        .poll(() => log.lines.map((line) => line.message), {
          timeout: silentCallMs(clientSettings.dynamoDb) + 1_000,
        })
        .toContain('An IPN answered 503 at the deadline failed afterwards');
      expect(server.requests).toBe(clientSettings.dynamoDb.maxAttempts);
    });
  });

  it("keeps the deadline 1 s inside the Lambda's remaining time", async ({ expect }) => {
    await withServer(startSilentServer, async (server) => {
      const { handle } = ingestWith({ dynamoDb: server.url });

      const response = await postIpn(handle, 'pay_deadline_context', {
        getRemainingTimeInMillis: () => 1_800,
      });

      expect(response.status).toBe(503);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(800 - EARLY_MS);
      expect(response.elapsedMs).toBeLessThanOrEqual(800 + LATE_MS);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Consumer

const PENDING = 'pay_consumer_pending';
const PUBLISHED = 'pay_consumer_published';

function sqsRecord(messageId: string, paymentId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: JSON.stringify({ v: 1, paymentId, event: 'payment.succeeded' }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'ingest',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: aws.queues.queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/** One stored event still to publish and one already published, as the ingest leaves them. */
const batch = (): SQSEvent => ({
  Records: [sqsRecord('message-pending', PENDING), sqsRecord('message-published', PUBLISHED)],
});

/** A Lambda context whose remaining time counts down from `budgetMs`. */
function lambdaContext(budgetMs: number): Context {
  const end = Date.now() + budgetMs;
  return { getRemainingTimeInMillis: () => end - Date.now() } as unknown as Context;
}

function consumerWith(endpoints: { dynamoDb?: string; eventBridge: string }) {
  return createConsumerSqsHandler({
    store: new DynamoDbEventStore(dynamoDbAt(endpoints.dynamoDb ?? aws.dynamoDbUrl), aws.tableName),
    bus: new EventBridgeEventBus(eventBridgeAt(endpoints.eventBridge), BUS),
    eventSource: 'okepay',
    now: Date.now,
    log: new RecordingLog(),
    metrics: new RecordingMetrics(),
  });
}

describe.concurrent('consumer, with the production client settings', () => {
  beforeAll(async () => {
    const { handle } = ingestWith({});
    for (const paymentId of [PENDING, PUBLISHED]) {
      const response = await postIpn(handle, paymentId);
      if (response.status !== 200)
        throw new Error(`Could not store ${paymentId}: ${JSON.stringify(response)}`);
    }
    await new DynamoDbEventStore(aws.dynamoDb, aws.tableName).markPublished(
      { paymentId: PUBLISHED, event: 'payment.succeeded' },
      new Date().toISOString(),
    );
  });

  /** Budget of the invocation; the consumer stops retrying PutEvents 3 s before its end. */
  const BUDGET_MS = 5_000;
  const CONSUMER_MARGIN_MS = 3_000;

  it.for(SERVERS)(
    'reports the unpublished record as failed when EventBridge %s, inside its budget',
    async ([, start], { expect }) => {
      await withServer(start, async (server) => {
        const consumer = consumerWith({ eventBridge: server.url });

        const { value: response, elapsedMs } = await timed(() => consumer(batch(), lambdaContext(BUDGET_MS)));

        expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-pending' }] });
        // PutEvents makes one attempt per request; publish-entries retries until the deadline.
        expect(server.requests).toBeGreaterThanOrEqual(1);
        expect(elapsedMs).toBeGreaterThanOrEqual(server.requests * ATTEMPT_TIMEOUT_MS - EARLY_MS);
        // No retry starts after budget − 3 s; the one in flight then ends within one attempt.
        expect(elapsedMs).toBeLessThanOrEqual(
          BUDGET_MS - CONSUMER_MARGIN_MS + silentCallMs(clientSettings.eventBridge) + LATE_MS,
        );
        expect(elapsedMs).toBeLessThan(BUDGET_MS);
      });
    },
  );

  it.for(SERVERS)(
    'fails the invocation (the batch returns to the queue) when DynamoDB %s, inside its budget',
    async ([, start], { expect }) => {
      await withServer(start, async (server) => {
        const consumer = consumerWith({ dynamoDb: server.url, eventBridge: server.url });

        const { error, elapsedMs } = await timed(() => consumer(batch(), lambdaContext(30_000)));

        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(server.requests).toBe(clientSettings.dynamoDb.maxAttempts);
        expect(elapsedMs).toBeGreaterThanOrEqual(timedOutAttemptsMs(clientSettings.dynamoDb));
        expect(elapsedMs).toBeLessThanOrEqual(silentCallMs(clientSettings.dynamoDb) + LATE_MS);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// CLI

describe.concurrent('CLI clients', () => {
  const settings = cliClientSettings(400);
  const cliCalls = (endpoint: string) => {
    const config = { ...settings, ...clientConfig(endpoint) };
    const dynamoDb = tracked(new DynamoDBClient(config));
    const sqs = tracked(new SQSClient(config));
    const eventBridge = tracked(new EventBridgeClient(config));
    return [
      ['DynamoDB', () => dynamoDb.send(new DescribeTableCommand({ TableName: 'okepay-events' }))],
      ['SQS', () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: `${endpoint}/000000000000/q` }))],
      [
        'EventBridge',
        () =>
          eventBridge.send(
            new PutEventsCommand({ Entries: [{ Source: 'okepay', DetailType: 'test', Detail: '{}' }] }),
          ),
      ],
    ] as const;
  };

  it.for(SERVERS)('fail with a TimeoutError when the endpoint %s', async ([, start], { expect }) => {
    await withServer(start, async (server) => {
      for (const [service, call] of cliCalls(server.url)) {
        const { error, elapsedMs } = await timed(call);
        expect((error as Error | undefined)?.name, service).toBe('TimeoutError');
        expect(elapsedMs, service).toBeGreaterThanOrEqual(timedOutAttemptsMs(settings));
        expect(elapsedMs, service).toBeLessThanOrEqual(silentCallMs(settings) + LATE_MS);
      }
      expect(server.requests).toBe(3 * settings.maxAttempts);
    });
  });

  it('built by resolveTarget --local, fail after their 3 × 10 s instead of hanging', {
    timeout: 60_000,
  }, async ({ expect }) => {
    const production = cliClientSettings();
    await withServer(startSilentServer, async (server) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'okepay-hung-cli-'));
      try {
        writeFileSync(
          join(dataDir, 'endpoints.json'),
          JSON.stringify({
            region: LOCAL_REGION,
            dynamodb: server.url,
            sqs: server.url,
            eventbridge: server.url,
            tableName: 'okepay-events',
            queueUrl: `${server.url}/000000000000/okepay-ipn`,
            queueArn: 'arn:aws:sqs:us-east-1:000000000000:okepay-ipn',
            deadLetterQueueUrl: `${server.url}/000000000000/okepay-ipn-dlq`,
            deadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:okepay-ipn-dlq',
            eventBusName: BUS,
            pid: process.pid,
          }),
        );
        const target = await resolveTarget({ local: true, 'data-dir': dataDir });
        try {
          const results = await Promise.all([
            timed(() => target.dynamoDb.send(new DescribeTableCommand({ TableName: target.tableName }))),
            timed(() => target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: target.queueUrl }))),
            timed(() =>
              target.eventBridge.send(
                new PutEventsCommand({ Entries: [{ Source: 'okepay', DetailType: 'test', Detail: '{}' }] }),
              ),
            ),
          ]);
          for (const { error, elapsedMs } of results) {
            expect((error as Error | undefined)?.name).toBe('TimeoutError');
            expect(elapsedMs).toBeGreaterThanOrEqual(timedOutAttemptsMs(production));
            expect(elapsedMs).toBeLessThanOrEqual(silentCallMs(production) + LATE_MS);
          }
          expect(server.requests).toBe(3 * production.maxAttempts);
        } finally {
          target.destroy();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
