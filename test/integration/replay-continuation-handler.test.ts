import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import type { ContinuedResponse } from '../../functions/replay/continuation.ts';
import type { PaymentEventDetail } from '../../functions/shared/canonical/payment-event.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { type LocalAws, startLocalAws } from '../helpers/local-aws.ts';
import { storedEventOf } from '../helpers/stored-event.ts';

type ReplayHandler = (event: unknown, context?: Context) => Promise<unknown>;

const BUS = 'okepay-replay-handler-continuation-test';
const FUNCTION_NAME = 'okepay-replay-local';
const EVENTS = 150;
const WINDOW = { since: '2026-03-01T00:00:00.000Z', until: '2026-03-02T00:00:00.000Z' };
/** 17 s left: the handler stops starting batches 15 s before the end, so each run publishes for 2 s. */
const REMAINING_MS = 17_000;
/** 150 events at 40 events/s take about 4 s: two runs at least. */
const RATE = 40;

let aws: LocalAws;
let bus: EventBusServer;
let lambda: Server;
let handler: ReplayHandler;
/** What the local Lambda endpoint received, and the handler runs it started. */
const invocations: { functionName: string; invocationType: string | undefined; payload: unknown }[] = [];
const runs = new Set<Promise<unknown>>();
const responses: ContinuedResponse[] = [];

const context = { getRemainingTimeInMillis: () => REMAINING_MS } as unknown as Context;

async function runHandler(payload: unknown): Promise<ContinuedResponse> {
  const response = (await handler(payload, context)) as ContinuedResponse;
  responses.push(response);
  return response;
}

/** POST /2015-03-31/functions/NAME/invocations: 202 at once, then the handler with the payload. */
function startLocalLambda(): Promise<Server> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
      if (request.method !== 'POST' || !match?.[1]) {
        response.writeHead(404).end();
        return;
      }
      const payload: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      invocations.push({
        functionName: decodeURIComponent(match[1]),
        invocationType: request.headers['x-amz-invocation-type'] as string | undefined,
        payload,
      });
      response.writeHead(202, { 'content-type': 'application/json' }).end();
      const run = runHandler(payload).finally(() => runs.delete(run));
      runs.add(run);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  aws = await startLocalAws();
  bus = await startEventBusServer({ buses: [BUS], rules: [] });
  lambda = await startLocalLambda();
  Object.assign(process.env, aws.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
    OKEPAY_REPLAY_MAX_CHAIN: '10',
    EVENT_BUS_NAME: BUS,
    EVENT_SOURCE: 'okepay',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler } = (await import('../../functions/replay/handler.ts')) as { handler: ReplayHandler });

  const store = new DynamoDbEventStore(aws.dynamoDb, aws.tableName);
  const spacingMs = (Date.parse(WINDOW.until) - Date.parse(WINDOW.since)) / EVENTS;
  for (let start = 0; start < EVENTS; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, EVENTS - start) }, async (_, offset) => {
        const n = start + offset;
        const receivedAt = new Date(Date.parse(WINDOW.since) + n * spacingMs).toISOString();
        const paymentId = `pay_self_${String(n).padStart(4, '0')}`;
        await store.putIfAbsent(storedEventOf({ paymentId, orderRef: `ORDER-${n}`, receivedAt }));
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => lambda?.close(resolve));
  await bus?.close();
  await aws?.close();
});

describe('the replay handler continues itself through the Lambda API', () => {
  it('invokes its own function asynchronously until the replay is complete, each event once', async () => {
    const first = await runHandler({ ...WINDOW, rate: RATE });
    expect(first).toMatchObject({ chain: 1, continued: true, stopped: 'time-budget' });
    while (runs.size > 0) await Promise.all(runs);

    expect(invocations.length).toBeGreaterThanOrEqual(1);
    expect(invocations.every((call) => call.functionName === FUNCTION_NAME)).toBe(true);
    expect(invocations.every((call) => call.invocationType === 'Event')).toBe(true);
    expect(invocations.map((call) => call.payload)).toEqual(
      invocations.map((_, index) => ({
        resume: first.replayId,
        rate: RATE,
        continue: true,
        chain: index + 2,
      })),
    );
    const last = responses.at(-1);
    expect(last).toMatchObject({ complete: true, continued: false, publishedTotal: EVENTS });
    expect(responses.map((response) => response.chain)).toEqual(responses.map((_, index) => index + 1));
    console.info(`handler continuation: ${responses.length} runs`);

    const details = bus.events
      .map((event) => event.detail as unknown as PaymentEventDetail)
      .filter((detail) => detail.replay?.replayId === first.replayId);
    expect(details).toHaveLength(EVENTS);
    expect(new Set(details.map((detail) => detail.eventId)).size).toBe(EVENTS);
  }, 60_000);
});
