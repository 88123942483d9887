/**
 * Every IPN accounted for, with faults at the wire. The ingest handler, the consumer (run by the local
 * QueuePoller), the sweeper and the release of held revisions use real SDK clients configured as the
 * Lambdas configure them (shared/clients/request-handler.ts: deadlines that fire, SDK retries), pointed
 * at fault proxies (test/helpers/fault-proxy.ts) in front of dynalite, local-aws-sqs and the local event
 * bus. The proxies hang, reset, answer 500/503, or forward the request and then lose all or half of
 * the answer: the server did the work and the client cannot know.
 *
 * okePay is simulated: it retries on any non-2xx and when its own request times out (the handler goes
 * on, and its late answer is seen by nobody). Among the events: partial refunds (a second body for the
 * same payment_id + event, with another amount), held as revisions, half of them released by an
 * operator; poisoned items (an attribute removed in dynalite after they were acknowledged), which must
 * fail alone and reach the DLQ unpublished; and events whose queue message was lost after they were
 * acknowledged, which only the sweeper can bring to the bus.
 *
 * FAULT_SEED repeats a run (the same fault decisions in the same order; the interleaving of concurrent
 * requests still varies); FAULT_WIRE_EVENTS sets its size (default 200, from 50 to 1,000).
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerSqsHandler } from '../../functions/consumer/sqs-handler.ts';
import { createIngestHttpHandler } from '../../functions/ingest/http-handler.ts';
import {
  LOCAL_REGION,
  type RunningServer,
  startDynamoDb,
  startSqs,
} from '../../functions/local/aws-servers.ts';
import {
  type EventBusServer,
  type EventEnvelope,
  startEventBusServer,
} from '../../functions/local/event-bus-server.ts';
import { createEventsTable, createQueues, type ProvisionedQueues } from '../../functions/local/provision.ts';
import { QueuePoller } from '../../functions/local/queue-poller.ts';
import { listHeldRevisions, releaseRevision } from '../../functions/operations/held-revisions.ts';
import { sweepStuckEvents } from '../../functions/operations/sweep-stuck-events.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { clientSettings } from '../../functions/shared/clients/request-handler.ts';
import { contentSha256 } from '../../functions/shared/ipn/content-hash.ts';
import { METRICS } from '../../functions/shared/observability.ts';
import type { IpnQueue } from '../../functions/shared/queue/ipn-queue.ts';
import { SqsIpnQueue } from '../../functions/shared/queue/sqs-ipn-queue.ts';
import { StaticWebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import type { StateEntry } from '../../functions/shared/store/event-states.ts';
import type { EventKey } from '../../functions/shared/store/event-store.ts';
import { eventKey, paymentKey } from '../../functions/shared/store/table-design.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import {
  type FaultProxy,
  startFaultProxy,
  WIRE_FAULT_KINDS,
  type WireFaultKind,
  WORK_DONE_KINDS,
} from '../helpers/fault-proxy.ts';
import { type FaultLog, seededRandom } from '../helpers/faults.ts';
import { RecordingLog, RecordingMetrics } from '../helpers/in-memory.ts';
import { ipnJson, RawNumber, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';

const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const EVENTS = Math.min(1_000, Math.max(50, Number(process.env.FAULT_WIRE_EVENTS) || 200));
const POISONED = Math.max(3, Math.floor(EVENTS / 30));
/** Share of requests faulted; EventBridge sees far fewer requests (10 entries each), so more of them. */
const FAULT_RATE = { dynamodb: 0.05, sqs: 0.05, eventbridge: 0.25 };
/**
 * While okePay sends, DynamoDB has a brief outage every 1.5 s: most requests fail for 250 ms, so some
 * IPNs fail both SDK attempts and okePay gets 503s, not only its own timeouts.
 */
const BROWNOUT = { everyMs: 1_500, forMs: 250, rate: 0.8 };
/**
 * okePay gives up on a request after this long: less than one SDK attempt's timeout, so a request whose
 * AWS call hangs is abandoned and sent again while the first attempt is still running.
 */
const OKEPAY_TIMEOUT_MS = 1_200;
const OKEPAY_ATTEMPTS = 20;
const OKEPAY_SENDERS = 16;
/** Short, so that poisoned messages reach the DLQ within seconds. */
const QUEUE = { visibilityTimeoutSeconds: 1, maxReceiveCount: 4 };
/**
 * Short enough to publish within the test what only the sweeper can (items whose message was lost), and
 * mostly longer than the consumer's lag while the events pour in. On a loaded machine the lag grows
 * past it, and the sweeper re-enqueues items still waiting in the queue: `maxPerRun` keeps that from
 * doubling the consumer's work (the oldest go first, so the lost ones are never crowded out).
 */
const SWEEP = { graceMs: 15_000, maxBackoffMs: 20_000, maxPerRun: 20, intervalMs: 2_000 };
/** Bounds the wait for the consumer to catch up; a healthy run needs about 20 s of it. */
const SETTLE_DEADLINE_MS = 90_000;
const BUS = 'okepay-wire-faults';
const TABLE = 'okepay-events-wire-faults';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One body okePay sends, and what became of it. */
interface Sent {
  paymentId: string;
  event: string;
  amount: string;
  body: string;
  contentHash: string;
  kind: 'payment' | 'refund' | 'partial-refund' | 'poisoned' | 'message-lost';
  /** Every status the handler answered, including the answers okePay had stopped waiting for. */
  handlerStatuses: number[];
  /** The 2xx answer okePay saw, if any. */
  acknowledged?: { status: string; held?: boolean };
}

/** The fields of the canonical event's detail this test reads (the bus keeps any JSON object). */
interface BusDetail {
  paymentId: string;
  type: string;
  eventId: string;
  revision: number;
  amount: { decimal: string };
}
const detailOf = (event: EventEnvelope) => event.detail as unknown as BusDetail;

/** Bodies are told apart on the bus by payment, type and amount (the two refunds differ by amount). */
const identity = (paymentId: string, event: string, amount: string) => `${paymentId}|${event}|${amount}`;
const identityOf = (body: Sent) => identity(body.paymentId, body.event, body.amount);
const busIdentity = (event: EventEnvelope) => {
  const detail = detailOf(event);
  return identity(detail.paymentId, detail.type, detail.amount.decimal);
};
/** How a body is named when it is stored as a revision (held, released). */
const revisionId = (key: EventKey) => `${key.paymentId}|${key.event}|${key.revisionHash ?? ''}`;
const asRevision = (body: Sent) =>
  revisionId({ paymentId: body.paymentId, event: body.event, revisionHash: body.contentHash });

interface OkePayStats {
  /** Retries after a 5xx answer, and after okePay's own timeout. */
  serverErrorRetries: number;
  clientTimeouts: number;
  unacknowledged: number;
  /** Answers other than 2xx and 503. */
  unexpected: string[];
}

interface RunResult {
  sent: Map<string, Sent>;
  published: Map<string, { eventIds: Set<string>; revisions: Set<number>; copies: number }>;
  held: StateEntry[];
  released: Set<string>;
  releaseErrors: Map<string, number>;
  dlqPaymentIds: Map<string, number>;
  /** Each batch the consumer answered: its records and whether each was reported failed. */
  batches: { paymentId: string; failed: boolean }[][];
  faults: FaultLog;
  ambiguousPutEventsEntries: number;
  consumerLog: RecordingLog;
  consumerMetrics: RecordingMetrics;
  okePay: OkePayStats;
  sweeper: { runs: number; cutShort: number; reenqueued: number; paymentIds: Set<string> };
  brownouts: number;
  /** Seconds from the start. */
  timings: { sent: number; accountedFor: number; total: number };
}

let dynamoServer: RunningServer;
let sqsServer: RunningServer;
let bus: EventBusServer;
let queues: ProvisionedQueues;
const proxies: FaultProxy[] = [];
/** What a run started, stopped in afterAll too in case the run failed halfway. */
const cleanups: (() => unknown)[] = [];
let run: RunResult;

beforeAll(async () => {
  dynamoServer = await startDynamoDb();
  sqsServer = await startSqs();
  bus = await startEventBusServer({
    buses: [BUS],
    rules: [{ name: 'subscriber', eventPattern: { source: ['okepay'] }, eventBusName: BUS }],
  });
  run = await runUnderWireFaults();
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await bus?.close();
  await sqsServer?.close();
  await dynamoServer?.close();
});

function buildBodies(): { phase1: Sent[]; phase2: Sent[]; poisoned: Sent[] } {
  const make = (kind: Sent['kind'], paymentId: string, event: string, amount: string): Sent => {
    const body = ipnJson({
      event,
      payment_id: paymentId,
      order_ref: `ORDER-${paymentId}`,
      amount: new RawNumber(amount),
    });
    return { paymentId, event, amount, body, contentHash: contentSha256(body), kind, handlerStatuses: [] };
  };
  // The first ones are sent in phase 1, and most of their queue messages are then lost: all but the
  // fifth that okePay delivers again in phase 2 (which enqueues them again).
  const lostMessage = (i: number) => i < POISONED * 2 && i % 5 !== 0;
  const payments = Array.from({ length: EVENTS }, (_, i) =>
    make(lostMessage(i) ? 'message-lost' : 'payment', `pay_w_${i}`, 'payment.succeeded', '129.90'),
  );
  const refunded = payments.filter((_, i) => i % 10 === 3);
  const refunds = refunded.map((p) => make('refund', p.paymentId, 'payment.refunded', '10.00'));
  const partial = refunded.map((p) => make('partial-refund', p.paymentId, 'payment.refunded', '25.00'));
  const poisoned = Array.from({ length: POISONED }, (_, i) =>
    make('poisoned', `pay_x_${i}`, 'payment.succeeded', '50.00'),
  );
  // Phase 1, before the consumer runs: the poisoned ones among twice as many good ones.
  const early = payments.slice(0, POISONED * 2);
  const phase1 = early.flatMap((payment, i) =>
    i % 2 === 0 ? [poisoned[i / 2] as Sent, payment] : [payment],
  );
  // Phase 2: the rest; second refunds and redeliveries (a fifth of the payments, every other second
  // refund) come last, so most come after their first copy, though senders run 16 at a time.
  const phase2 = [
    ...payments.slice(POISONED * 2),
    ...refunds,
    ...partial,
    ...payments.filter((_, i) => i % 5 === 0),
    ...partial.filter((_, i) => i % 2 === 0),
  ];
  return { phase1, phase2, poisoned };
}

type IngestHandler = ReturnType<typeof createIngestHttpHandler>;

/**
 * okePay's webhook workers: 16 at a time, each body sent until it is answered 2xx, again after a 5xx
 * and after {@link OKEPAY_TIMEOUT_MS} without an answer (the abandoned request runs on).
 */
function simulateOkePay(ingest: IngestHandler) {
  const stats: OkePayStats = { serverErrorRetries: 0, clientTimeouts: 0, unacknowledged: 0, unexpected: [] };
  const inflight = new Set<Promise<unknown>>();
  const TIMED_OUT = Symbol('timed out');

  async function attempt(sent: Sent) {
    const work = ingest(
      httpApiEvent(sent.body, signedHeaders(sent.body, { timestamp: Math.floor(Date.now() / 1000) })),
    ).then((response) => {
      sent.handlerStatuses.push(response.statusCode ?? 0);
      return response;
    });
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), OKEPAY_TIMEOUT_MS);
    });
    const answer: APIGatewayProxyStructuredResultV2 | typeof TIMED_OUT = await Promise.race([work, timeout]);
    clearTimeout(timer);
    return answer === TIMED_OUT ? undefined : answer;
  }

  async function send(sent: Sent): Promise<void> {
    for (let n = 1; n <= OKEPAY_ATTEMPTS; n++) {
      const answer = await attempt(sent);
      const status = answer?.statusCode ?? 0;
      if (!answer) {
        stats.clientTimeouts += 1;
      } else if (status >= 200 && status < 300) {
        sent.acknowledged = JSON.parse(answer.body ?? '{}') as Sent['acknowledged'];
        return;
      } else {
        if (status !== 503) stats.unexpected.push(`${sent.paymentId} ${status}: ${answer.body}`);
        stats.serverErrorRetries += 1;
      }
      // Backing off keeps a loaded machine from drowning in abandoned requests that still run.
      await sleep(Math.min(1_000, 10 * 2 ** n));
    }
    stats.unacknowledged += 1;
  }

  return {
    stats,
    async sendAll(bodies: readonly Sent[]): Promise<void> {
      let next = 0;
      await Promise.all(
        Array.from({ length: OKEPAY_SENDERS }, async () => {
          for (let sent = bodies[next++]; sent; sent = bodies[next++]) await send(sent);
        }),
      );
    },
    /** Waits for the abandoned requests, whose handlers may still be working. */
    settled: () => Promise.allSettled([...inflight]),
  };
}

/** Damages stored items behind the pipeline's back: no body, or a required attribute gone. */
async function poisonStoredItems(client: DynamoDBClient, bodies: readonly Sent[]): Promise<void> {
  for (const [index, body] of bodies.entries()) {
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: paymentKey(body.paymentId) }, sk: { S: eventKey(body.event) } },
        UpdateExpression: `REMOVE ${index % 2 === 0 ? 'body' : 'orderRef'}`,
        ConditionExpression: '#status = :received',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':received': { S: 'received' } },
      }),
    );
  }
}

/**
 * Loses the queue messages of some events, as a purge or a crash of the queue would: receives every
 * message, deletes those of `paymentIds` and makes the others visible again.
 */
async function loseMessages(sqs: SQSClient, paymentIds: ReadonlySet<string>): Promise<void> {
  const kept: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
      }),
    );
    if (Messages.length === 0) break;
    for (const { Body = '{}', ReceiptHandle = '' } of Messages) {
      if (paymentIds.has((JSON.parse(Body) as { paymentId: string }).paymentId)) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle }));
      } else {
        kept.push(ReceiptHandle);
      }
    }
  }
  for (let start = 0; start < kept.length; start += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: kept
          .slice(start, start + 10)
          .map((handle, i) => ({ Id: String(i), ReceiptHandle: handle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/** The sweeper as the stack schedules it, every {@link SWEEP}.intervalMs; a faulted run ends early. */
function startSweeper(store: DynamoDbEventStore, queue: IpnQueue) {
  const stats = { runs: 0, cutShort: 0, reenqueued: 0, paymentIds: new Set<string>() };
  const recordingQueue: IpnQueue = {
    enqueue: async (message) => {
      await queue.enqueue(message);
      stats.paymentIds.add(message.paymentId);
    },
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const report = await sweepStuckEvents({
          store,
          queue: recordingQueue,
          now: Date.now,
          log: new RecordingLog(),
          metrics: new RecordingMetrics(),
          settings: { graceMs: SWEEP.graceMs, maxBackoffMs: SWEEP.maxBackoffMs, maxPerRun: SWEEP.maxPerRun },
        });
        stats.reenqueued += report.reenqueued;
      } catch (error) {
        // The next run starts over; anything else than a dependency failure is a bug.
        if (!/Unavailable/.test((error as Error).name)) throw error;
        stats.cutShort += 1;
      }
      stats.runs += 1;
      await sleep(SWEEP.intervalMs);
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Brief outages of one service, until stopped. */
function startBrownouts(proxy: FaultProxy, baseRate: number) {
  let running = true;
  let count = 0;
  const loop = (async () => {
    while (running) {
      await sleep(BROWNOUT.everyMs);
      proxy.setRate(BROWNOUT.rate);
      count += 1;
      await sleep(BROWNOUT.forMs);
      proxy.setRate(baseRate);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return count;
    },
  };
}

/**
 * The operator releases every other held revision, through the same faulty clients. Whatever a failed
 * release says, the item's status (read without faults) tells whether it was released: a release whose
 * UpdateItem answer was lost throws WrongStateError ("not held (it is received); nothing was released")
 * because the SDK's retry finds it released, and it sends no message, so only the sweeper publishes it.
 */
async function releaseEveryOtherHeld(
  deps: { store: DynamoDbEventStore; queue: IpnQueue },
  directStore: DynamoDbEventStore,
) {
  const released = new Set<string>();
  const errors = new Map<string, number>();
  const countError = (name: string) => errors.set(name, (errors.get(name) ?? 0) + 1);
  let held: StateEntry[] | undefined;
  for (let attempt = 1; attempt <= 10 && !held; attempt++) {
    held = await listHeldRevisions(deps).catch((error: Error) => {
      countError(`list: ${error.name}`);
      return undefined;
    });
  }
  for (const entry of (held ?? []).filter((_, i) => i % 2 === 0)) {
    const key = entry.key as EventKey;
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        await releaseRevision({ ...deps, now: Date.now }, { ...entry, key });
        released.add(revisionId(key));
        break;
      } catch (error) {
        countError((error as Error).name);
        if ((await directStore.get(key))?.status !== 'held') {
          released.add(revisionId(key));
          break;
        }
      }
    }
  }
  return { released, errors };
}

/** Receives every message in the DLQ once (hidden for 10 minutes), counting them by payment id. */
async function readDeadLetters(sqs: SQSClient, into: Map<string, number>): Promise<void> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
      }),
    );
    if (Messages.length === 0) return;
    for (const message of Messages) {
      const paymentId = (JSON.parse(message.Body ?? '{}') as { paymentId?: string }).paymentId ?? '?';
      into.set(paymentId, (into.get(paymentId) ?? 0) + 1);
    }
  }
}

async function runUnderWireFaults(): Promise<RunResult> {
  const startedAt = Date.now();
  const since = () => (Date.now() - startedAt) / 1000;
  const setup = { region: LOCAL_REGION, credentials };
  // Fault-free clients for what the test itself does: provisioning, poisoning, and the accounting.
  const directDynamoDb = new DynamoDBClient({ ...setup, endpoint: dynamoServer.url });
  const directSqs = new SQSClient({ ...setup, endpoint: sqsServer.url });
  cleanups.push(
    () => directDynamoDb.destroy(),
    () => directSqs.destroy(),
  );
  const directStore = new DynamoDbEventStore(directDynamoDb, TABLE);
  await createEventsTable(directDynamoDb, TABLE);
  queues = await createQueues(directSqs, {
    queueName: 'okepay-ipn-wire-faults',
    deadLetterQueueName: 'okepay-ipn-wire-faults-dlq',
    ...QUEUE,
  });

  const random = seededRandom(SEED);
  const faults: FaultLog = { counts: new Map(), calls: new Map() };
  let ambiguousPutEventsEntries = 0;
  const proxyFor = async (service: keyof typeof FAULT_RATE, target: string) => {
    const proxy = await startFaultProxy({
      target,
      service,
      rate: FAULT_RATE[service],
      random,
      log: faults,
      onFault: ({ operation, kind, upstream }) => {
        // Entries the bus took whose answer was lost: the consumer cannot tell them from failures and
        // publishes them again, the one way a duplicate can reach the bus here.
        if (operation !== 'eventbridge.PutEvents' || !WORK_DONE_KINDS.has(kind) || !upstream) return;
        const answer = JSON.parse(upstream.body.toString('utf8')) as { Entries?: { EventId?: string }[] };
        ambiguousPutEventsEntries += (answer.Entries ?? []).filter((entry) => entry.EventId).length;
      },
    });
    proxies.push(proxy);
    return proxy;
  };
  const dynamoProxy = await proxyFor('dynamodb', dynamoServer.url);
  const sqsProxy = await proxyFor('sqs', sqsServer.url);
  const busProxy = await proxyFor('eventbridge', bus.url);

  // The Lambdas' settings: per-attempt deadlines that fire, 2 SDK attempts (1 for EventBridge).
  const dynamoDb = new DynamoDBClient({ ...clientSettings.dynamoDb, ...setup, endpoint: dynamoProxy.url });
  const sqs = new SQSClient({ ...clientSettings.sqs, ...setup, endpoint: sqsProxy.url });
  const eventBridge = new EventBridgeClient({
    ...clientSettings.eventBridge,
    ...setup,
    endpoint: busProxy.url,
  });
  cleanups.push(
    () => dynamoDb.destroy(),
    () => sqs.destroy(),
    () => eventBridge.destroy(),
  );
  const store = new DynamoDbEventStore(dynamoDb, TABLE);
  const queue = new SqsIpnQueue(sqs, queues.queueUrl);

  const okePay = simulateOkePay(
    createIngestHttpHandler({
      store,
      queue,
      secrets: new StaticWebhookSecrets([TEST_SECRET]),
      now: Date.now,
      log: new RecordingLog(),
      metrics: new RecordingMetrics(),
      // The default revision policy: hold.
      settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 1 },
    }),
  );
  const { phase1, phase2, poisoned } = buildBodies();
  const sent = new Map([...phase1, ...phase2].map((body) => [identityOf(body), body]));

  // Phase 1: the consumer is not running yet, so the poisoned items are stored and still unpublished.
  await okePay.sendAll(phase1);
  await okePay.settled();
  await poisonStoredItems(
    directDynamoDb,
    poisoned.filter((body) => body.acknowledged),
  );
  await loseMessages(
    directSqs,
    new Set(phase1.filter((body) => body.kind === 'message-lost').map((body) => body.paymentId)),
  );

  // Phase 2: the consumer and the sweeper run while the rest is sent.
  const consumerLog = new RecordingLog();
  const consumerMetrics = new RecordingMetrics();
  const consumer = createConsumerSqsHandler({
    store,
    bus: new EventBridgeEventBus(eventBridge, BUS),
    eventSource: 'okepay',
    now: Date.now,
    log: consumerLog,
    metrics: consumerMetrics,
  });
  const batches: RunResult['batches'] = [];
  const poller = new QueuePoller({
    sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    region: LOCAL_REGION,
    handler: async (event, context) => {
      const response = await consumer(event, context);
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      batches.push(
        event.Records.map((record) => ({
          paymentId: (JSON.parse(record.body) as { paymentId: string }).paymentId,
          failed: failed.has(record.messageId),
        })),
      );
      return response;
    },
    functionTimeoutMs: 30_000,
  });
  poller.start();
  const sweeper = startSweeper(store, queue);
  cleanups.push(
    () => poller.stop(),
    () => sweeper.stop(),
  );

  const brownouts = startBrownouts(dynamoProxy, FAULT_RATE.dynamodb);
  await okePay.sendAll(phase2);
  const brownoutCount = await brownouts.stop();
  const sentAt = since();
  const { released, errors: releaseErrors } = await releaseEveryOtherHeld({ store, queue }, directStore);

  // Until every acknowledged body is published or held, and every poisoned one is in the DLQ.
  const dlqPaymentIds = new Map<string, number>();
  const outstanding = async () => {
    const onBus = new Set(bus.events.map(busIdentity));
    const held = new Set(
      (await listHeldRevisions({ store: directStore })).map((entry) => revisionId(entry.key as EventKey)),
    );
    await readDeadLetters(directSqs, dlqPaymentIds);
    return [...sent.values()].filter((body) => {
      if (body.kind === 'poisoned') return body.acknowledged && !dlqPaymentIds.has(body.paymentId);
      if (released.has(asRevision(body))) return !onBus.has(identityOf(body));
      return body.acknowledged && !onBus.has(identityOf(body)) && !held.has(asRevision(body));
    });
  };
  const deadline = Date.now() + SETTLE_DEADLINE_MS;
  while ((await outstanding()).length > 0 && Date.now() < deadline) await sleep(250);
  const accountedForAt = since();
  // A little longer, so that a late duplicate would show.
  await sleep(1_500);

  await sweeper.stop();
  await poller.stop();
  await okePay.settled();
  await readDeadLetters(directSqs, dlqPaymentIds);

  const published: RunResult['published'] = new Map();
  for (const event of bus.events) {
    const entry = published.get(busIdentity(event)) ?? {
      eventIds: new Set(),
      revisions: new Set(),
      copies: 0,
    };
    entry.eventIds.add(detailOf(event).eventId);
    entry.revisions.add(detailOf(event).revision);
    entry.copies += 1;
    published.set(busIdentity(event), entry);
  }

  const result: RunResult = {
    sent,
    published,
    held: await listHeldRevisions({ store: directStore }),
    released,
    releaseErrors,
    dlqPaymentIds,
    batches,
    faults,
    ambiguousPutEventsEntries,
    consumerLog,
    consumerMetrics,
    okePay: okePay.stats,
    sweeper: sweeper.stats,
    brownouts: brownoutCount,
    timings: { sent: sentAt, accountedFor: accountedForAt, total: since() },
  };
  printSummary(result);
  return result;
}

function faultsByKind(faults: FaultLog): Map<WireFaultKind, number> {
  const byKind = new Map<WireFaultKind, number>(WIRE_FAULT_KINDS.map((kind) => [kind, 0]));
  for (const [key, n] of faults.counts) {
    const kind = key.slice(key.lastIndexOf(':') + 1) as WireFaultKind;
    byKind.set(kind, (byKind.get(kind) ?? 0) + n);
  }
  return byKind;
}

function faultsByService(faults: FaultLog): Map<string, { calls: number; faults: number }> {
  const byService = new Map<string, { calls: number; faults: number }>();
  const entry = (key: string) => {
    const service = key.slice(0, key.indexOf('.'));
    const found = byService.get(service) ?? { calls: 0, faults: 0 };
    byService.set(service, found);
    return found;
  };
  for (const [key, n] of faults.calls) entry(key).calls += n;
  for (const [key, n] of faults.counts) entry(key).faults += n;
  return byService;
}

function faultsByOperation(faults: FaultLog): [string, string][] {
  return [...faults.calls].map(([operation, calls]) => {
    const injected = [...faults.counts]
      .filter(([key]) => key.startsWith(`${operation}:`))
      .reduce((sum, [, n]) => sum + n, 0);
    return [operation, `${injected}/${calls}`];
  });
}

const duplicatesOnBus = (result: RunResult) =>
  [...result.published.values()].reduce((sum, entry) => sum + entry.copies - 1, 0);
const publishedNotMarked = (result: RunResult) =>
  result.consumerLog.lines.filter((line) => line.message.startsWith('Event published but not marked')).length;

function printSummary(result: RunResult): void {
  const bodies = [...result.sent.values()];
  const { okePay, sweeper, timings } = result;
  const list = (entries: Iterable<[string, unknown]>) =>
    [...entries].map(([name, value]) => `${name} ${value}`).join(', ') || 'none';
  const services = [...faultsByService(result.faults)].map(
    ([service, { calls, faults }]): [string, string] => [service, `${faults}/${calls}`],
  );
  const dlqNotPoisoned = [...result.dlqPaymentIds.keys()].filter((id) => !id.startsWith('pay_x_')).length;
  const messageLost = bodies.filter((body) => body.kind === 'message-lost');
  console.log(
    [
      `[wire faults] seed ${SEED}: ${bodies.length} bodies (${EVENTS} payments, ` +
        `${bodies.filter((body) => body.kind === 'partial-refund').length} partial refunds, ${POISONED} poisoned) ` +
        `in ${timings.total.toFixed(1)} s (sent by ${timings.sent.toFixed(1)} s, all accounted for at ${timings.accountedFor.toFixed(1)} s)`,
      `  okePay: ${bodies.filter((body) => body.acknowledged).length} acknowledged, ${okePay.unacknowledged} never; ` +
        `retried ${okePay.serverErrorRetries} times after a 5xx, ${okePay.clientTimeouts} after its own timeout ` +
        `(${result.brownouts} DynamoDB brownouts)`,
      `  faults injected/requests: ${list(services)}`,
      `  faults by kind: ${list(faultsByKind(result.faults))}`,
      `  faults by operation: ${list(faultsByOperation(result.faults))}`,
      `  bus: ${result.published.size} bodies published, ${duplicatesOnBus(result)} duplicate deliveries ` +
        `(PutEvents entries taken with the answer lost: ${result.ambiguousPutEventsEntries}; ` +
        `published but not marked: ${publishedNotMarked(result)})`,
      `  held ${result.held.length}, released ${result.released.size} (errors while releasing: ${list(result.releaseErrors)}); ` +
        `sweeper re-enqueued ${sweeper.reenqueued} in ${sweeper.runs} runs (${sweeper.cutShort} cut short by a fault), ` +
        `${messageLost.filter((body) => sweeper.paymentIds.has(body.paymentId)).length} of the ${messageLost.length} whose message was lost; ` +
        `DLQ: ${result.dlqPaymentIds.size} payments (${dlqNotPoisoned} not poisoned)`,
    ].join('\n'),
  );
}

describe('every IPN accounted for, with faults at the wire', () => {
  it('injects every kind of fault, into every service, and okePay both times out and gets 5xx', () => {
    const byKind = faultsByKind(run.faults);
    for (const kind of WIRE_FAULT_KINDS)
      expect(byKind.get(kind), `faults of kind ${kind}`).toBeGreaterThan(0);
    const byService = faultsByService(run.faults);
    for (const service of Object.keys(FAULT_RATE)) {
      expect(byService.get(service)?.faults, `faults in ${service}`).toBeGreaterThan(0);
    }
    // The calls where a lost answer matters most, each made hundreds of times (PutEvents at a higher rate).
    for (const operation of [
      'dynamodb.PutItem',
      'dynamodb.UpdateItem',
      'sqs.SendMessage',
      'eventbridge.PutEvents',
    ]) {
      expect(
        [...run.faults.counts.keys()].some((key) => key.startsWith(`${operation}:`)),
        `faults in ${operation}`,
      ).toBe(true);
    }
    expect(run.okePay.clientTimeouts, 'okePay retries after its own timeout').toBeGreaterThan(0);
    expect(run.okePay.serverErrorRetries, 'okePay retries after a 5xx').toBeGreaterThan(0);
  });

  it('answers okePay 2xx or 503, and every body in the end 2xx', () => {
    expect(run.okePay.unexpected).toEqual([]);
    expect(run.okePay.unacknowledged).toBe(0);
  });

  it('publishes or holds every acknowledged event, except the poisoned ones', () => {
    const held = new Set(run.held.map((entry) => revisionId(entry.key as EventKey)));
    const lost = [...run.sent.values()]
      .filter((body) => body.acknowledged && body.kind !== 'poisoned')
      .filter((body) => !run.published.has(identityOf(body)) && !held.has(asRevision(body)))
      .map((body) => `${identityOf(body)} (answered ${JSON.stringify(body.acknowledged)})`);
    expect(lost).toEqual([]);
  });

  it('holds the revisions not released, and publishes the released ones as revisions', () => {
    const held = new Set(run.held.map((entry) => revisionId(entry.key as EventKey)));
    expect(run.held.length).toBeGreaterThan(0);
    expect(run.released.size).toBeGreaterThan(0);
    for (const body of run.sent.values()) {
      const id = identityOf(body);
      if (held.has(asRevision(body)))
        expect(run.published.has(id), `${id} is held and on the bus`).toBe(false);
      if (run.released.has(asRevision(body))) {
        expect(run.published.has(id), `${id} was released and is not on the bus`).toBe(true);
        expect(Math.min(...(run.published.get(id)?.revisions ?? [])), id).toBeGreaterThanOrEqual(2);
      }
      if (body.acknowledged?.status === 'revision') {
        expect(body.acknowledged.held, `${id} answered as a revision not held`).toBe(true);
        expect(held.has(asRevision(body)) || run.released.has(asRevision(body)), `${id} gone`).toBe(true);
      }
    }
  });

  it('invents nothing: every event on the bus is a body answered 2xx or a released revision', () => {
    for (const event of bus.events) {
      const id = busIdentity(event);
      const body = run.sent.get(id);
      expect(body, `${id} is on the bus and was never sent`).toBeDefined();
      if (!body) continue;
      expect(body.kind, `${id} is poisoned and was published`).not.toBe('poisoned');
      if (detailOf(event).revision >= 2) {
        expect(run.released.has(asRevision(body)), `${id} published as a revision, unreleased`).toBe(true);
      } else {
        expect(body.handlerStatuses, `${id} published but never answered 200`).toContain(200);
      }
    }
  });

  it('gives every copy of an event the same eventId, and a revision an eventId of its own', () => {
    for (const [id, { eventIds, revisions }] of run.published) {
      const body = run.sent.get(id) as Sent;
      expect(eventIds.size, `${id} has several eventIds`).toBe(1);
      expect(revisions.size, `${id} has several revision numbers`).toBe(1);
      const isFirstCopy = revisions.has(1);
      expect([...eventIds][0], id).toBe(
        eventIdFor(body.paymentId, body.event, isFirstCopy ? undefined : body.contentHash),
      );
    }
    const refundEventIds = (body: Sent, amount: string) => [
      ...(run.published.get(identity(body.paymentId, body.event, amount))?.eventIds ?? []),
    ];
    const bothPublished = [...run.sent.values()].filter(
      (body) =>
        body.kind === 'partial-refund' &&
        refundEventIds(body, '10.00').length > 0 &&
        refundEventIds(body, body.amount).length > 0,
    );
    expect(bothPublished.length).toBeGreaterThan(0);
    for (const body of bothPublished) {
      expect(refundEventIds(body, '10.00')).not.toEqual(refundEventIds(body, body.amount));
    }
  });

  it('publishes the events whose queue message was lost, through the sweeper', () => {
    const lost = [...run.sent.values()].filter((body) => body.kind === 'message-lost' && body.acknowledged);
    expect(lost.length).toBeGreaterThan(0);
    for (const body of lost) {
      expect(run.published.has(identityOf(body)), `${body.paymentId} on the bus`).toBe(true);
      expect(run.sweeper.paymentIds.has(body.paymentId), `${body.paymentId} enqueued by the sweeper`).toBe(
        true,
      );
    }
  });

  it('delivers a duplicate only where an answer was lost after the work was done', () => {
    expect(duplicatesOnBus(run)).toBeLessThanOrEqual(run.ambiguousPutEventsEntries + publishedNotMarked(run));
  });

  it('fails a poisoned item alone: unpublished, reported, in the DLQ, and the rest of its batch publishes', () => {
    const poisoned = [...run.sent.values()].filter((body) => body.kind === 'poisoned' && body.acknowledged);
    expect(poisoned.length).toBe(POISONED);
    const reported = run.consumerLog.lines.filter((line) =>
      line.message.startsWith('Stored event cannot be read'),
    );
    for (const body of poisoned) {
      expect(run.dlqPaymentIds.has(body.paymentId), `${body.paymentId} in the DLQ`).toBe(true);
      expect(
        reported.some((line) => (line.extra[0] as { paymentId?: string }).paymentId === body.paymentId),
        `${body.paymentId} reported unreadable`,
      ).toBe(true);
    }
    expect(run.consumerMetrics.count(METRICS.poisonRecords)).toBeGreaterThanOrEqual(poisoned.length);
    const poisonedIds = new Set(poisoned.map((body) => body.paymentId));
    const poisonedRecords = run.batches.flat().filter((record) => poisonedIds.has(record.paymentId));
    expect(poisonedRecords.every((record) => record.failed)).toBe(true);
    const mixed = run.batches.filter(
      (batch) =>
        batch.some((record) => poisonedIds.has(record.paymentId)) &&
        batch.some((record) => !poisonedIds.has(record.paymentId) && !record.failed),
    );
    expect(mixed.length, 'batches where a poisoned record failed and the others published').toBeGreaterThan(
      0,
    );
  });
});
