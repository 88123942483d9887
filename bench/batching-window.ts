/**
 * What the consumer's batching window (`maxBatchingWindowSeconds`) buys and costs: the ingest and
 * consumer handlers with their SDK adapters against dynalite, local-aws-sqs and the local EventBridge
 * endpoint, all on 127.0.0.1 in this process, and the local queue poller standing in for Lambda's SQS
 * event source with the window under test. IPNs are sent to the ingest handler at a fixed rate.
 *
 * Per rate and window: consumer invocations per event, PutEvents calls per event (the EventBridge
 * client's requests, counted by a middleware), and the added latency from the IPN's 200 to its event
 * reaching the bus, p50/p95.
 *
 * The local poller short-polls one queue with one poller (100 ms apart when the queue is empty);
 * Lambda runs at least five pollers with long polls, so with no window it splits a low rate into even
 * more single-message batches than this does. The counts at window 0 are a floor, not a forecast.
 *
 *   npx tsx bench/batching-window.ts [--rates 2,50] [--windows 0,1,5] [--seconds 10]
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LOCAL_HOST, LOCAL_REGION, startDynamoDb, startSqs } from '../functions/local/aws-servers.ts';
import { startEventBusServer } from '../functions/local/event-bus-server.ts';
import { createEventsTable, createQueues } from '../functions/local/provision.ts';
import { QueuePoller, type SqsHandler } from '../functions/local/queue-poller.ts';
import { signatureHeader } from '../functions/shared/ipn/signature.ts';
import { BENCH_SECRET, benchIpnBody, IPN_PATH } from './lib/bench-ipn.ts';
import { runMain } from './lib/main.ts';
import { formatNumber, percentile, printTable } from './lib/table.ts';

const TABLE_NAME = 'okepay-events-bench';
const BUS_NAME = 'okepay-bench';
/** The stack's default batch size. */
const BATCH_SIZE = 10;
/** At most this many IPNs per run, whatever --rates and --seconds say. */
const MAX_IPNS_PER_RUN = 2_000;

interface Run {
  rate: number;
  windowSeconds: number;
  ipns: number;
  invocations: number;
  putEventsCalls: number;
  latenciesMs: number[];
}

function ipnEvent(body: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  const signature = signatureHeader({
    rawBody: body,
    secret: BENCH_SECRET,
    scheme: 'body',
    timestamp: Math.floor(now / 1000),
  });
  return {
    version: '2.0',
    routeKey: `POST ${IPN_PATH}`,
    rawPath: IPN_PATH,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-okepay-signature': signature },
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: LOCAL_HOST,
      domainPrefix: 'bench',
      http: {
        method: 'POST',
        path: IPN_PATH,
        protocol: 'HTTP/1.1',
        sourceIp: LOCAL_HOST,
        userAgent: 'bench',
      },
      requestId: `bench-${now}`,
      routeKey: `POST ${IPN_PATH}`,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}

const list = (text: string) => text.split(',').map((value) => Number(value.trim()));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '2,50' },
      windows: { type: 'string', default: '0,1,5' },
      seconds: { type: 'string', default: '10' },
    },
  });
  const rates = list(values.rates);
  const windows = list(values.windows);
  const seconds = Number(values.seconds);

  const dynamoServer = await startDynamoDb();
  const sqsServer = await startSqs();
  const bus = await startEventBusServer({
    buses: [BUS_NAME],
    rules: [],
    maxRecorded: 100,
  });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamoDb = new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamoServer.url, credentials });
  const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: sqsServer.url, credentials });
  await createEventsTable(dynamoDb, TABLE_NAME);
  const queues = await createQueues(sqs, {
    queueName: 'okepay-ipn-bench',
    deadLetterQueueName: 'okepay-ipn-bench-dlq',
    maxReceiveCount: 5,
    visibilityTimeoutSeconds: 60,
  });
  // The handlers' SDK clients read these at their first import, below.
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoServer.url,
    AWS_ENDPOINT_URL_SQS: sqsServer.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
    TABLE_NAME,
    QUEUE_URL: queues.queueUrl,
    EVENT_BUS_NAME: BUS_NAME,
    EVENT_SOURCE: 'okepay',
    OKEPAY_WEBHOOK_SECRETS: JSON.stringify([BENCH_SECRET]),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const ingest = (await import('../functions/ingest/handler.ts')) as {
    handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  };
  const consumer = (await import('../functions/consumer/handler.ts')) as unknown as { handler: SqsHandler };
  const { eventBridgeClient } = await import('../functions/shared/clients/eventbridge.ts');
  let putEventsCalls = 0;
  eventBridgeClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutEventsCommand') putEventsCalls += 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountPutEvents' },
  );

  const answeredAt = new Map<string, number>();
  const latencies: number[] = [];
  bus.onEvent((envelope) => {
    const paymentId = envelope.detail.paymentId;
    const answered = typeof paymentId === 'string' ? answeredAt.get(paymentId) : undefined;
    if (answered !== undefined) latencies.push(performance.now() - answered);
  });

  const runs: Run[] = [];
  let sequence = 0;
  // A first, unreported run warms the handlers, the SDK clients and the servers (JIT, connections).
  const plan = [
    { rate: 50, windowSeconds: 0, ipns: 100, report: false },
    ...rates.flatMap((rate) =>
      windows.map((windowSeconds) => ({
        rate,
        windowSeconds,
        ipns: Math.min(MAX_IPNS_PER_RUN, Math.max(1, Math.round(rate * seconds))),
        report: true,
      })),
    ),
  ];
  try {
    for (const { rate, windowSeconds, ipns, report } of plan) {
      answeredAt.clear();
      latencies.length = 0;
      putEventsCalls = 0;
      let invocations = 0;
      const poller = new QueuePoller({
        sqs,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        region: LOCAL_REGION,
        functionTimeoutMs: 30_000,
        batchSize: BATCH_SIZE,
        maxBatchingWindowMs: windowSeconds * 1000,
        handler: (event, context) => {
          invocations += 1;
          return consumer.handler(event, context);
        },
        onError: (error) => console.error('poller:', error),
      });
      poller.start();
      const started = performance.now();
      const sends: Promise<void>[] = [];
      for (let index = 0; index < ipns; index++) {
        const due = started + (index * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const paymentId = `pay_window_${sequence++}`;
        sends.push(
          ingest.handler(ipnEvent(benchIpnBody(paymentId))).then((result) => {
            if (result.statusCode !== 200) throw new Error(`ingest answered ${result.statusCode}`);
            answeredAt.set(paymentId, performance.now());
          }),
        );
      }
      await Promise.all(sends);
      const deadline = performance.now() + windowSeconds * 1000 + 15_000;
      while (latencies.length < ipns && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await poller.stop();
      if (latencies.length < ipns) {
        throw new Error(
          `only ${latencies.length} of ${ipns} events reached the bus (${rate}/s, ${windowSeconds} s)`,
        );
      }
      if (report) {
        runs.push({ rate, windowSeconds, ipns, invocations, putEventsCalls, latenciesMs: [...latencies] });
      }
    }
  } finally {
    await bus.close();
    dynamoDb.destroy();
    sqs.destroy();
    await sqsServer.close();
    await dynamoServer.close();
  }

  printTable(
    'Consumer batching window: calls per event and added latency',
    ['IPNs/s', 'window', 'IPNs', 'invocations / event', 'PutEvents / event', 'latency p50', 'latency p95'],
    runs.map((run) => [
      formatNumber(run.rate),
      `${run.windowSeconds} s`,
      formatNumber(run.ipns),
      formatNumber(run.invocations / run.ipns, 2),
      formatNumber(run.putEventsCalls / run.ipns, 2),
      `${formatNumber(percentile(run.latenciesMs, 50))} ms`,
      `${formatNumber(percentile(run.latenciesMs, 95))} ms`,
    ]),
    [
      `Batch size ${BATCH_SIZE} (the stack's default). Latency: from the ingest handler's 200 to the event on the local bus.`,
      'One local poller with short polls; Lambda runs five or more long-polling pollers, so at window 0 it makes at least as many calls per event.',
    ],
  );
}

runMain(import.meta.url, main);
