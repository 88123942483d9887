/**
 * Fault injection, end to end against the local servers: thousands of distinct signed events (a fifth
 * of them redelivered) through ingest → SQS → consumer → EventBridge, with every AWS call failing at
 * random (throttling, 5xx, a timeout before the request, a timeout after the server did the work),
 * and PutEvents failing entries at random. okePay is simulated: it retries on anything but 2xx.
 *
 * The SDK clients run with maxAttempts 1 so that every injected fault reaches the application code.
 * FAULT_SEED repeats a run; FAULT_EVENTS sets its size (default 2,000).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerSqsHandler } from '../../functions/consumer/sqs-handler.ts';
import { createIngestHttpHandler } from '../../functions/ingest/http-handler.ts';
import {
  LOCAL_REGION,
  type RunningServer,
  startDynamoDb,
  startSqs,
} from '../../functions/local/aws-servers.ts';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import { createEventsTable, createQueues, type ProvisionedQueues } from '../../functions/local/provision.ts';
import { QueuePoller } from '../../functions/local/queue-poller.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { SqsIpnQueue } from '../../functions/shared/queue/sqs-ipn-queue.ts';
import { StaticWebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ALL_FAULT_KINDS, type FaultLog, injectFaults, seededRandom } from '../helpers/faults.ts';
import { RecordingLog, RecordingMetrics } from '../helpers/in-memory.ts';
import { ipnJson, sign, TEST_SECRET } from '../helpers/ipn.ts';

const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const EVENTS = Number(process.env.FAULT_EVENTS ?? 2_000);
const BUS = 'okepay-faults';
const TABLE = 'okepay-events-faults';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let dynamoServer: RunningServer;
let sqsServer: RunningServer;
let bus: EventBusServer;
let queues: ProvisionedQueues;

beforeAll(async () => {
  dynamoServer = await startDynamoDb();
  sqsServer = await startSqs();
  bus = await startEventBusServer({
    buses: [BUS],
    rules: [{ name: 'subscriber', eventPattern: { source: ['okepay'] }, eventBusName: BUS }],
  });
  const setup = { region: LOCAL_REGION, credentials };
  const dynamoDb = new DynamoDBClient({ ...setup, endpoint: dynamoServer.url });
  const sqs = new SQSClient({ ...setup, endpoint: sqsServer.url });
  await createEventsTable(dynamoDb, TABLE);
  queues = await createQueues(sqs, {
    queueName: 'okepay-ipn-faults',
    deadLetterQueueName: 'okepay-ipn-faults-dlq',
    maxReceiveCount: 50,
    visibilityTimeoutSeconds: 2,
  });
  dynamoDb.destroy();
  sqs.destroy();
});

afterAll(async () => {
  await bus.close();
  await sqsServer.close();
  await dynamoServer.close();
});

interface RunOptions {
  label: string;
  events: number;
  /** Event ids are made unique per run with this prefix. */
  prefix: string;
  /** Whether PutEvents may lose its response after publishing (the one fault that can duplicate). */
  ambiguousPutEvents: boolean;
}

async function runWithFaults(options: RunOptions) {
  const random = seededRandom(SEED + options.prefix.length);
  const faults: FaultLog = { counts: new Map(), calls: new Map() };
  let ambiguousEntries = 0;
  const faulty = {
    region: LOCAL_REGION,
    credentials,
    maxAttempts: 1,
    requestHandler: { requestTimeout: 5_000 },
  };
  const dynamoDb = new DynamoDBClient({ ...faulty, endpoint: dynamoServer.url });
  const sqs = new SQSClient({ ...faulty, endpoint: sqsServer.url });
  const eventBridge = new EventBridgeClient({ ...faulty, endpoint: bus.url });
  injectFaults(dynamoDb, { service: 'dynamodb', rate: 0.1, random, log: faults });
  injectFaults(sqs, { service: 'sqs', rate: 0.1, random, log: faults });
  injectFaults(eventBridge, {
    service: 'eventbridge',
    rate: 0.1,
    random,
    log: faults,
    // A PutEvents whose response is lost after the bus took the events is the one fault that can make a
    // duplicate: the consumer cannot tell it from a failure, and publishes again.
    kinds: options.ambiguousPutEvents
      ? ALL_FAULT_KINDS
      : ALL_FAULT_KINDS.filter((kind) => kind !== 'timeout-after'),
    onFault: (operation, kind, input) => {
      if (operation === 'eventbridge.PutEvents' && kind === 'timeout-after') {
        ambiguousEntries += (input as { Entries?: unknown[] }).Entries?.length ?? 0;
      }
    },
  });
  bus.setFaults({ failEntryRate: 0.1, random });

  const metrics = new RecordingMetrics();
  const store = new DynamoDbEventStore(dynamoDb, TABLE);
  const ingest = createIngestHttpHandler({
    store,
    queue: new SqsIpnQueue(sqs, queues.queueUrl),
    secrets: new StaticWebhookSecrets([TEST_SECRET]),
    now: Date.now,
    log: new RecordingLog(),
    metrics,
    settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 1 },
  });
  const consumerLog = new RecordingLog();
  const consumer = createConsumerSqsHandler({
    store,
    bus: new EventBridgeEventBus(eventBridge, BUS),
    eventSource: 'okepay',
    now: Date.now,
    log: consumerLog,
    metrics,
    // Backoff shortened tenfold to keep the test fast; its shape is tested in publish-entries.test.ts.
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / 10)),
  });
  const poller = new QueuePoller({
    sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    region: LOCAL_REGION,
    handler: (event, context) => consumer(event, context),
    functionTimeoutMs: 30_000,
  });

  // okePay: sends each event, retrying on anything but 2xx with backoff; a fifth are sent again later.
  const acknowledged = new Set<string>();
  const sentIds = new Set<string>();
  let okePayRetries = 0;
  let unacknowledged = 0;
  async function okePaySend(body: string, paymentId: string): Promise<void> {
    sentIds.add(paymentId);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const response = await ingest(
        httpApiEvent(body, {
          'content-type': 'application/json',
          'x-okepay-signature': sign(body, { timestamp: Math.floor(Date.now() / 1000) }),
        }),
      );
      const status = response.statusCode ?? 0;
      expect(status === 200 || status >= 500, `status ${status}: ${response.body}`).toBe(true);
      if (status === 200) {
        acknowledged.add(paymentId);
        return;
      }
      okePayRetries += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * 2 ** attempt)));
    }
    unacknowledged += 1;
  }

  const before = bus.events.length;
  poller.start();
  const bodies = Array.from({ length: options.events }, (_, i) => {
    const paymentId = `${options.prefix}${i}`;
    return { paymentId, body: ipnJson({ payment_id: paymentId, order_ref: `ORDER-${i}` }) };
  });
  const redelivered = bodies.filter((_, i) => i % 5 === 0);
  const sends = [...bodies, ...redelivered];
  const startedAt = Date.now();
  // 32 concurrent senders, like okePay's webhook workers.
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let send = sends[next++]; send; send = sends[next++]) await okePaySend(send.body, send.paymentId);
    }),
  );

  const delivered = () => bus.events.slice(before);
  const deliveredIds = () =>
    new Set(delivered().map((event) => (event.detail as { paymentId: string }).paymentId));
  const deadline = Date.now() + 90_000;
  while ([...acknowledged].some((id) => !deliveredIds().has(id)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // A little longer, so that any late duplicate would show.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  await poller.stop();
  bus.setFaults({});
  dynamoDb.destroy();
  sqs.destroy();
  eventBridge.destroy();

  const copies = new Map<string, { eventIds: Set<string>; count: number }>();
  for (const event of delivered()) {
    const detail = event.detail as { paymentId: string; eventId: string };
    const entry = copies.get(detail.paymentId) ?? { eventIds: new Set(), count: 0 };
    entry.eventIds.add(detail.eventId);
    entry.count += 1;
    copies.set(detail.paymentId, entry);
  }
  const duplicateDeliveries = [...copies.values()].reduce((sum, entry) => sum + entry.count - 1, 0);
  const injected = [...faults.counts.values()].reduce((sum, n) => sum + n, 0);
  const calls = [...faults.calls.values()].reduce((sum, n) => sum + n, 0);
  console.log(
    `[${options.label}] seed ${SEED}: ${options.events} events + ${redelivered.length} redeliveries in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; ` +
      `${injected} faults injected in ${calls} AWS calls + bus entry failures; okePay retried ${okePayRetries} times; ` +
      `${acknowledged.size} acknowledged, ${unacknowledged} never acknowledged; ${copies.size} delivered; ` +
      `duplicate deliveries ${duplicateDeliveries} (entries published with a lost PutEvents response: ${ambiguousEntries})`,
  );
  return { acknowledged, sentIds, copies, duplicateDeliveries, ambiguousEntries, injected, faults };
}

describe('fault injection', () => {
  it(`delivers every acknowledged event through ${EVENTS} events with 10% of AWS calls failing`, async () => {
    const run = await runWithFaults({
      label: 'all faults',
      events: EVENTS,
      prefix: 'pay_f_',
      ambiguousPutEvents: true,
    });

    expect(run.injected).toBeGreaterThan(EVENTS / 5);
    for (const kind of [
      'dynamodb.PutItem',
      'sqs.SendMessage',
      'eventbridge.PutEvents',
      'dynamodb.UpdateItem',
    ]) {
      expect(
        [...run.faults.counts.keys()].some((key) => key.startsWith(kind)),
        `faults in ${kind}`,
      ).toBe(true);
    }
    const missing = [...run.acknowledged].filter((id) => !run.copies.has(id));
    expect(missing).toEqual([]);
    for (const id of run.copies.keys())
      expect(run.sentIds.has(id), `${id} was delivered but never sent`).toBe(true);
    for (const [id, { eventIds }] of run.copies)
      expect([...eventIds], id).toEqual([eventIdFor(id, 'payment.succeeded')]);
    expect(run.duplicateDeliveries).toBeLessThanOrEqual(run.ambiguousEntries);
  }, 240_000);

  it('delivers no duplicate when no PutEvents response is lost', async () => {
    const run = await runWithFaults({
      label: 'no lost PutEvents responses',
      events: Math.ceil(EVENTS / 4),
      prefix: 'pay_g_',
      ambiguousPutEvents: false,
    });
    expect([...run.acknowledged].filter((id) => !run.copies.has(id))).toEqual([]);
    expect(run.ambiguousEntries).toBe(0);
    expect(run.duplicateDeliveries).toBe(0);
  }, 240_000);
});
