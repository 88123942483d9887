import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/commands/command.ts';
import { runReplayCommand } from '../../bin/commands/replay.ts';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import { DynamoDbReplayProgressStore } from '../../functions/replay/dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from '../../functions/replay/dynamodb-stored-event-query.ts';
import type { DryRunResponse, ReplayResponse } from '../../functions/replay/invocation.ts';
import {
  dryRunReplay,
  type ReplayDeps,
  type ReplayRunOptions,
  runReplay,
} from '../../functions/replay/run-replay.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import type { PaymentEventDetail } from '../../functions/shared/canonical/payment-event.ts';
import { readRuleFile } from '../../functions/shared/rules/rule-file.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ipnJson, RawNumber, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';
import { type LocalAws, startLocalAws, TEST_CREDENTIALS } from '../helpers/local-aws.ts';
import { storedEventOf } from '../helpers/stored-event.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

type IngestHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type ReplayHandler = (event: unknown, context?: Context) => Promise<ReplayResponse | DryRunResponse>;

const BUS = 'okepay-replay-test';
const GROUPS = 5;
const PER_GROUP = 200;

let aws: LocalAws;
let bus: EventBusServer;
let eventBridge: EventBridgeClient;
let deps: ReplayDeps;
let store: DynamoDbEventStore;
let replayHandler: ReplayHandler;
/** `boundaries[g]` is a time between ingest group g-1 and group g. */
const boundaries: string[] = [];
/** The days-old events written directly, by receivedAt. */
const historic: { paymentId: string; event: string; receivedAt: string }[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function accept(fields: Parameters<typeof ipnJson>[0]): Promise<void> {
  const body = ipnJson(fields);
  const headers = signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) });
  const response = await ingest(httpApiEvent(body, headers));
  if (response.statusCode !== 200)
    throw new Error(`ingest answered ${response.statusCode}: ${response.body}`);
}
let ingest: IngestHandler;

/** 1,000 IPNs through the real ingest handler, in 5 groups with a time boundary between each. */
async function acceptThousand(): Promise<void> {
  for (let group = 0; group < GROUPS; group++) {
    await sleep(5);
    boundaries.push(new Date().toISOString());
    await sleep(5);
    const ids = Array.from({ length: PER_GROUP }, (_, index) => group * PER_GROUP + index);
    for (let start = 0; start < ids.length; start += 25) {
      await Promise.all(
        ids.slice(start, start + 25).map((n) =>
          accept({
            payment_id: `pay_${String(n).padStart(4, '0')}`,
            order_ref: n % 100 === 7 ? 'ORDER-SHARED' : `ORDER-${n}`,
            amount: new RawNumber(`${10 + (n % 90)}.50`),
          }),
        ),
      );
    }
  }
  await sleep(5);
  boundaries.push(new Date().toISOString());
  // One payment's history, in order.
  for (const event of ['payment.pending', 'payment.succeeded', 'payment.refunded']) {
    await accept({ payment_id: 'pay_history', order_ref: 'ORDER-HISTORY', event });
    await sleep(2);
  }
}

/** Events received days ago, around UTC midnights, written with the store as ingest would. */
async function writeHistoric(): Promise<void> {
  const times = [
    '2026-05-07T23:59:59.999Z',
    '2026-05-08T00:00:00.000Z',
    '2026-05-08T11:59:59.999Z',
    '2026-05-08T12:00:00.000Z',
    '2026-05-08T23:30:00.000Z',
    '2026-05-09T00:00:00.001Z',
    '2026-05-09T15:00:00.000Z',
    '2026-05-09T23:59:59.999Z',
    '2026-05-10T00:00:00.000Z',
    '2026-05-10T08:00:00.000Z',
  ];
  for (const [index, receivedAt] of times.entries()) {
    const paymentId = `pay_old_${index}`;
    const event = index % 2 === 0 ? 'payment.succeeded' : 'payment.failed';
    await store.putIfAbsent(storedEventOf({ paymentId, event, orderRef: 'ORDER-OLD', receivedAt }));
    historic.push({ paymentId, event, receivedAt });
  }
}

beforeAll(async () => {
  aws = await startLocalAws();
  const rule = readRuleFile(join(import.meta.dirname, '../../events/rules/replayed-events.json'));
  bus = await startEventBusServer({
    buses: [BUS],
    rules: [{ name: rule.name, eventPattern: rule.eventPattern, eventBusName: BUS }],
  });
  Object.assign(process.env, aws.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
    EVENT_BUS_NAME: BUS,
    EVENT_SOURCE: 'okepay',
    OKEPAY_WEBHOOK_SECRETS: TEST_SECRET,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler: ingest } = (await import('../../functions/ingest/handler.ts')) as { handler: IngestHandler });
  ({ handler: replayHandler } = (await import('../../functions/replay/handler.ts')) as {
    handler: ReplayHandler;
  });

  eventBridge = new EventBridgeClient({
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    endpoint: bus.url,
  });
  store = new DynamoDbEventStore(aws.dynamoDb, aws.tableName);
  deps = {
    query: new DynamoDbStoredEventQuery(aws.dynamoDb, aws.tableName),
    store,
    progress: new DynamoDbReplayProgressStore(aws.dynamoDb, aws.tableName),
    bus: new EventBridgeEventBus(eventBridge, BUS),
    eventSource: 'okepay',
    now: Date.now,
  };
  await acceptThousand();
  await writeHistoric();
  console.info(`setup: accepted and wrote ${GROUPS * PER_GROUP + 3 + historic.length} events`);
}, 60_000);

afterAll(async () => {
  eventBridge?.destroy();
  await bus?.close();
  await aws?.close();
});

/** The canonical details the bus accepted for one replay. */
const replayed = (replayId: string) =>
  bus.events
    .map((event) => event.detail as unknown as PaymentEventDetail)
    .filter((detail) => detail.replay?.replayId === replayId);

async function replay(selection: unknown, options: Partial<ReplayRunOptions> = {}) {
  return runReplay({ selection }, deps, { rate: 0, ...options });
}

describe('replay against the local servers', () => {
  it("replays one payment's events in received order, each with the marker and its original eventId", async () => {
    const outcome = await replay({ paymentIds: ['pay_history'] });
    expect(outcome).toMatchObject({ selected: 3, published: 3, complete: true, failures: [] });
    const details = replayed(outcome.replayId);
    expect(details.map((d) => d.type)).toEqual(['payment.pending', 'payment.succeeded', 'payment.refunded']);
    for (const detail of details) {
      expect(detail.eventId).toBe(eventIdFor('pay_history', detail.type));
      expect(detail.replay).toEqual({ replayId: outcome.replayId, requestedAt: outcome.requestedAt });
      expect(detail.orderRef).toBe('ORDER-HISTORY');
    }
  });

  it("replays an order ref's events through the byOrderRef index", async () => {
    const outcome = await replay({ orderRef: 'ORDER-SHARED' });
    const expected = Array.from({ length: 10 }, (_, k) => `pay_${String(k * 100 + 7).padStart(4, '0')}`);
    expect(outcome.published).toBe(10);
    expect(replayed(outcome.replayId).map((d) => d.paymentId)).toEqual(expected);
  });

  it('replays a time window across UTC days: since included, until excluded', async () => {
    const since = '2026-05-08T00:00:00.000Z';
    const until = '2026-05-10T00:00:00.000Z';
    const outcome = await replay({ since, until });
    const expected = historic
      .filter((e) => e.receivedAt >= since && e.receivedAt < until)
      .map((e) => e.paymentId);
    expect(expected).toHaveLength(7);
    expect(replayed(outcome.replayId).map((d) => d.paymentId)).toEqual(expected);
  });

  it('combines a window with type and order filters', async () => {
    const outcome = await replay({
      orderRef: 'ORDER-OLD',
      since: '2026-05-08T12:00:00Z',
      types: ['payment.failed'],
    });
    const expected = historic
      .filter((e) => e.receivedAt >= '2026-05-08T12:00:00.000Z' && e.event === 'payment.failed')
      .map((e) => e.paymentId);
    expect(replayed(outcome.replayId).map((d) => d.paymentId)).toEqual(expected);
  });

  it('selects by stored status: only the events never published, or only those published', async () => {
    // No consumer runs here, so every accepted event is still `received`; mark five published.
    const published = ['pay_0010', 'pay_0020', 'pay_0030', 'pay_0040', 'pay_0050'];
    for (const paymentId of published) {
      await store.markPublished({ paymentId, event: 'payment.succeeded' }, new Date().toISOString());
    }
    const window = { since: boundaries[0], until: boundaries[1] };
    const received = await replay({ ...window, status: 'received' });
    expect(received.published).toBe(PER_GROUP - published.length);
    expect(replayed(received.replayId).some((d) => published.includes(d.paymentId))).toBe(false);
    const onlyPublished = await replay({ ...window, status: 'published' });
    expect(replayed(onlyPublished.replayId).map((d) => d.paymentId)).toEqual(published);
  });

  it('a replayed event matches the replayed-events example rule', async () => {
    const outcome = await replay({ paymentIds: ['pay_0001'] });
    const match = await bus.waitForMatch(
      (m) => (m.event.detail as { replay?: { replayId?: string } }).replay?.replayId === outcome.replayId,
    );
    expect(match.rule).toBe('replayed-events');
  });

  it('a dry run lists the selection and publishes nothing', async () => {
    const before = bus.events.length;
    const outcome = await dryRunReplay({ selection: { since: boundaries[1], until: boundaries[2] } }, deps);
    expect(outcome.selected).toBe(PER_GROUP);
    expect(outcome.events[0]?.paymentId).toBe('pay_0200');
    await sleep(50);
    expect(bus.events.length).toBe(before);
  });

  it('never goes faster than --rate 100 over 200 events', async () => {
    const outcome = await replay({ since: boundaries[2], until: boundaries[3] }, { rate: 100 });
    expect(outcome.published).toBe(PER_GROUP);
    const achieved = outcome.published / (outcome.elapsedMs / 1000);
    console.info(`--rate 100: ${achieved.toFixed(1)} events/s over ${outcome.published} events`);
    // The limiter's promise is an upper bound; a loaded machine only slows it down (how close it gets to
    // the rate is measured by the replay benchmark, and its pacing by the limiter's unit tests on a clock).
    expect(achieved).toBeLessThanOrEqual(110);
    expect(achieved).toBeGreaterThan(25);
  });

  it('replays all 1,000 accepted events, each once, with no rate limit', async () => {
    const started = performance.now();
    const outcome = await replay({ since: boundaries[0], until: boundaries[GROUPS] });
    const seconds = (performance.now() - started) / 1000;
    expect(outcome).toMatchObject({ selected: 1_000, published: 1_000, complete: true });
    const ids = replayed(outcome.replayId).map((d) => d.eventId);
    expect(new Set(ids).size).toBe(1_000);
    console.info(`replayed 1,000 events in ${seconds.toFixed(2)} s: ${Math.round(1_000 / seconds)} events/s`);
  });

  it('an interrupted replay, resumed with its id, publishes each selected event exactly once overall', async () => {
    const controller = new AbortController();
    const selection = { since: boundaries[3], until: boundaries[5] };
    const first = await replay(selection, {
      signal: controller.signal,
      onProgress: (state) => {
        if (state.attempted >= 100) controller.abort();
      },
    });
    expect(first.stopped).toBe('interrupted');
    expect(first.published).toBeLessThan(2 * PER_GROUP);

    const second = await runReplay({ resume: first.replayId }, deps, { rate: 0 });
    expect(second).toMatchObject({
      complete: true,
      publishedTotal: 2 * PER_GROUP,
      alreadyDone: first.published,
    });

    const ids = replayed(first.replayId).map((d) => d.eventId);
    expect(ids).toHaveLength(2 * PER_GROUP);
    expect(new Set(ids).size).toBe(2 * PER_GROUP);
  });
});

describe('npx okepay replay --local', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'okepay-replay-'));
    writeFileSync(
      join(dataDir, 'endpoints.json'),
      JSON.stringify({
        ipnUrl: 'http://127.0.0.1:3000/okepay/ipn',
        region: 'us-east-1',
        dynamodb: aws.dynamoDbUrl,
        sqs: aws.sqsUrl,
        eventbridge: bus.url,
        tableName: aws.tableName,
        ...aws.queues,
        eventBusName: BUS,
        eventSource: 'okepay',
        pid: process.pid,
        startedAt: new Date().toISOString(),
      }),
    );
  });

  it('prints a dry run as JSON and publishes nothing', async () => {
    const terminal = recordingTerminal();
    const before = bus.events.length;
    const code = await runReplayCommand(
      ['--local', '--data-dir', dataDir, '--payment-id', 'pay_history', '--dry-run', '--json'],
      terminal,
    );
    expect(code).toBe(0);
    const printed = JSON.parse(terminal.stdout()) as { dryRun: boolean; selected: number; events: unknown[] };
    expect(printed).toMatchObject({ dryRun: true, selected: 3 });
    expect(printed.events).toHaveLength(3);
    expect(bus.events.length).toBe(before);
  });

  it('prints a dry run as a table', async () => {
    const terminal = recordingTerminal({ env: { OKEPAY_DATA_DIR: dataDir } });
    await runReplayCommand(
      ['--local', '--order-ref', 'ORDER-OLD', '--type', 'payment.failed', '--dry-run'],
      terminal,
    );
    expect(terminal.stdout()).toMatch(/^Dry run: 5 events would be replayed on the local pipeline/);
    expect(terminal.stdout()).toMatch(
      /RECEIVED AT +PAYMENT ID +EVENT +ORDER REF +STATUS\n2026-05-08T00:00:00.000Z +pay_old_1 +payment.failed +ORDER-OLD +published\n/,
    );
  });

  it('replays and prints the summary', async () => {
    const terminal = recordingTerminal();
    const code = await runReplayCommand(
      ['--local', '--data-dir', dataDir, '--payment-id', 'pay_history'],
      terminal,
    );
    expect(code).toBe(0);
    expect(terminal.stdout()).toMatch(/^Replay rp-\S+ complete on the local pipeline/);
    expect(terminal.stdout()).toMatch(/selected +3\n +published +3 in this run\n +failed +0/);
    expect(terminal.stderr()).toMatch(/3 events selected; publishing to okepay-replay-test .* no rate limit/);
  });

  it('explains a selection that selects nothing, as a usage error', async () => {
    const run = runReplayCommand(
      ['--local', '--data-dir', dataDir, '--type', 'payment.failed'],
      recordingTerminal(),
    );
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(
      /nothing selects events: give --payment-id, --order-ref or a time window/,
    );
  });
});

describe('the replay Lambda handler', () => {
  const context = (remainingMs: number) =>
    ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

  it('replays a selection given as JSON', async () => {
    const response = (await replayHandler(
      { paymentIds: ['pay_history'] },
      context(60_000),
    )) as ReplayResponse;
    expect(response).toMatchObject({ selected: 3, published: 3, failed: 0, complete: true });
    expect(response.resumeWith).toBeUndefined();
    expect(replayed(response.replayId)).toHaveLength(3);
  });

  it('answers a dry run with the list', async () => {
    const response = (await replayHandler({ orderRef: 'ORDER-SHARED', dryRun: true })) as DryRunResponse;
    expect(response).toMatchObject({ dryRun: true, selected: 10, toDo: 10, truncated: false });
  });

  it('stops before its time budget ends and continues when invoked with resumeWith', async () => {
    // 15.7 s left: 0.7 s before the 15 s stop margin; at 100 events/s about 80 of 200 go out.
    const first = (await replayHandler(
      { since: boundaries[1], until: boundaries[2], rate: 100 },
      context(15_700),
    )) as ReplayResponse;
    expect(first.complete).toBe(false);
    expect(first.stopped).toBe('time-budget');
    expect(first.resumeWith).toEqual({ resume: first.replayId, rate: 100 });
    expect(first.published).toBeGreaterThan(0);
    expect(first.published).toBeLessThan(PER_GROUP);

    const second = (await replayHandler({ ...first.resumeWith, rate: 0 }, context(60_000))) as ReplayResponse;
    expect(second).toMatchObject({ complete: true, publishedTotal: PER_GROUP });
    expect(new Set(replayed(first.replayId).map((d) => d.eventId)).size).toBe(PER_GROUP);
    expect(replayed(first.replayId)).toHaveLength(PER_GROUP);
  });

  it('fails an invalid request with a named error', async () => {
    await expect(replayHandler({ paymentId: 'pay_1' })).rejects.toMatchObject({
      name: 'InvalidReplayRequestError',
      message: expect.stringMatching(/Unrecognized key: "paymentId"/),
    });
  });
});
