import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import {
  type ContinuationInput,
  type ContinuedResponse,
  type LeaseHeldResponse,
  runAndContinue,
} from '../../functions/replay/continuation.ts';
import { DynamoDbReplayProgressStore } from '../../functions/replay/dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from '../../functions/replay/dynamodb-stored-event-query.ts';
import { parseReplayInvocation } from '../../functions/replay/invocation.ts';
import {
  dryRunReplay,
  type ReplayDeps,
  type ReplayRunOptions,
  runReplay,
} from '../../functions/replay/run-replay.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import type { PaymentEventDetail } from '../../functions/shared/canonical/payment-event.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { type LocalAws, startLocalAws, TEST_CREDENTIALS } from '../helpers/local-aws.ts';
import { storedEventOf } from '../helpers/stored-event.ts';

const BUS = 'okepay-replay-continuation-test';
const EVENTS = 200;
/** Spread over three UTC days, so each run's selection crosses day partitions. */
const SINCE = '2026-04-01T00:00:00.000Z';
const UNTIL = '2026-04-04T00:00:00.000Z';
const WINDOW = { since: SINCE, until: UNTIL };
/** Each run stops starting batches this long after its selection (the Lambda's budget minus its margin). */
const RUN_BUDGET_MS = 1_000;
/** 200 events at 50 events/s take 4 s: several 1 s runs. */
const RATE = 50;

let aws: LocalAws;
let bus: EventBusServer;
let eventBridge: EventBridgeClient;
let deps: ReplayDeps;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Response = ContinuedResponse | LeaseHeldResponse;

/**
 * A replay function in this process: `invoke` is one invocation; its invoker starts the next one and
 * returns at once. `responses` lists every invocation's answer in order; `done` waits for the chain.
 */
function localReplayFunction(options: { maxChain: number; budgetMs?: number }) {
  const responses: Response[] = [];
  /** `alreadyDone` of the progress record each time a run hands over to the next. */
  const doneAtHandover: number[] = [];
  const running = new Set<Promise<unknown>>();

  const invoke = async (input: unknown): Promise<Response> => {
    // Lambda hands the function the JSON it was invoked with.
    const invocation = parseReplayInvocation(JSON.parse(JSON.stringify(input)));
    const budgetMs = options.budgetMs ?? RUN_BUDGET_MS;
    // The budget counts from the end of the selection, so a slow machine still publishes in each run
    // (a run that attempts nothing would end the chain as 'no-progress').
    const runOptions: ReplayRunOptions = {
      rate: invocation.rate,
      ...(invocation.concurrency !== undefined ? { concurrency: invocation.concurrency } : {}),
      stopAt: Date.now() + budgetMs,
      publishDeadline: Date.now() + budgetMs + 5_000,
      onStart: () => {
        runOptions.stopAt = Date.now() + budgetMs;
      },
    };
    const response = await runAndContinue(invocation, {
      run: () => runReplay(invocation.request, deps, runOptions),
      invoker: {
        invokeAsync: async (next: ContinuationInput) => {
          doneAtHandover.push((await dryRunReplay({ resume: next.resume }, deps)).alreadyDone);
          const task = invoke(next).finally(() => running.delete(task));
          running.add(task);
        },
      },
      maxChain: options.maxChain,
      now: Date.now,
      sleep,
      stopAt: Date.now() + Math.max(budgetMs, 5_000),
    });
    responses.push(response);
    if (process.env.DEBUG_CHAIN) console.info(JSON.stringify({ ...response, failures: undefined }));
    return response;
  };

  const done = async () => {
    while (running.size > 0) await Promise.all(running);
  };
  return { invoke, responses, doneAtHandover, done };
}

/** The canonical details the bus accepted for one replay. */
const replayed = (replayId: string) =>
  bus.events
    .map((event) => event.detail as unknown as PaymentEventDetail)
    .filter((detail) => detail.replay?.replayId === replayId);

const isRun = (response: Response): response is ContinuedResponse => 'published' in response;

function expectEachOnce(replayId: string) {
  const details = replayed(replayId);
  expect(new Set(details.map((detail) => detail.eventId)).size).toBe(EVENTS);
  expect(details).toHaveLength(EVENTS);
}

beforeAll(async () => {
  aws = await startLocalAws();
  bus = await startEventBusServer({ buses: [BUS], rules: [] });
  eventBridge = new EventBridgeClient({
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    endpoint: bus.url,
  });
  const store = new DynamoDbEventStore(aws.dynamoDb, aws.tableName);
  deps = {
    query: new DynamoDbStoredEventQuery(aws.dynamoDb, aws.tableName),
    store,
    progress: new DynamoDbReplayProgressStore(aws.dynamoDb, aws.tableName),
    bus: new EventBridgeEventBus(eventBridge, BUS),
    eventSource: 'okepay',
    now: Date.now,
  };
  const spacingMs = (Date.parse(UNTIL) - Date.parse(SINCE)) / EVENTS;
  for (let start = 0; start < EVENTS; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, EVENTS - start) }, async (_, offset) => {
        const n = start + offset;
        const receivedAt = new Date(Date.parse(SINCE) + n * spacingMs).toISOString();
        const paymentId = `pay_chain_${String(n).padStart(4, '0')}`;
        await store.putIfAbsent(storedEventOf({ paymentId, orderRef: `ORDER-${n}`, receivedAt }));
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  eventBridge?.destroy();
  await bus?.close();
  await aws?.close();
});

describe('a replay larger than one run continues by itself', () => {
  it('completes over several runs, publishing every selected event once under one replay id', async () => {
    const fn = localReplayFunction({ maxChain: 50 });
    const first = await fn.invoke({ ...WINDOW, rate: RATE, concurrency: 2 });
    // The first invocation's answer says the replay started and goes on by itself.
    expect(first).toMatchObject({ chain: 1, continued: true, complete: false, stopped: 'time-budget' });
    expect(first).not.toHaveProperty('resumeWith');
    await fn.done();

    const runs = fn.responses.filter(isRun);
    const last = runs.at(-1);
    console.info(
      `continuation: ${runs.length} runs published ${runs.map((run) => run.published).join(' + ')} = ${last?.publishedTotal}`,
    );
    expect(fn.responses).toHaveLength(runs.length);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.map((run) => run.chain)).toEqual(runs.map((_, index) => index + 1));
    expect(new Set(runs.map((run) => run.replayId))).toEqual(new Set([first.replayId]));
    expect(last).toMatchObject({ complete: true, continued: false, publishedTotal: EVENTS, failed: 0 });
    expect(runs.reduce((sum, run) => sum + run.published, 0)).toBe(EVENTS);
    // The record shows the progress at every handover, as `okepay replay --resume ID --dry-run` would.
    expect(fn.doneAtHandover).toHaveLength(runs.length - 1);
    expect(fn.doneAtHandover.every((done, index) => done > (fn.doneAtHandover[index - 1] ?? 0))).toBe(true);
    expectEachOnce(first.replayId);
    const record = await deps.progress.get(first.replayId);
    expect(record).toMatchObject({ complete: true, published: EVENTS, failures: [] });
  });

  it('stops at the chain bound with resumeWith, and a resume by hand finishes it exactly once', async () => {
    const fn = localReplayFunction({ maxChain: 2 });
    const first = await fn.invoke({ ...WINDOW, rate: RATE });
    await fn.done();
    const runs = fn.responses.filter(isRun);
    expect(runs.map((run) => run.chain)).toEqual([1, 2]);
    const last = runs.at(-1);
    expect(last).toMatchObject({ continued: false, notContinued: 'chain-limit', complete: false });
    expect(last?.resumeWith).toEqual({ resume: first.replayId, rate: RATE });
    expect(replayed(first.replayId).length).toBeLessThan(EVENTS);

    // A person resumes: a new chain, starting at 1, with a longer budget.
    const byHand = localReplayFunction({ maxChain: 2, budgetMs: 10_000 });
    const resumed = await byHand.invoke({ ...last?.resumeWith, rate: 0 });
    await byHand.done();
    expect(resumed).toMatchObject({ chain: 1, complete: true, publishedTotal: EVENTS });
    expectEachOnce(first.replayId);
  });

  it('a continuation that starts while the previous run still holds the lease waits for it', async () => {
    const fn = localReplayFunction({ maxChain: 50 });
    const first = await fn.invoke({ ...WINDOW, rate: RATE, continue: false });
    expect(first).toMatchObject({ continued: false, notContinued: 'not-asked', stopped: 'time-budget' });
    // A run that is still finishing (or was cut off) holds the lease for another 1.5 s.
    await deps.progress.claim(
      first.replayId,
      { owner: 'previous-run', expiresAt: Date.now() + 1_500 },
      Date.now(),
    );

    const continuation = localReplayFunction({ maxChain: 50, budgetMs: 10_000 });
    const startedAt = Date.now();
    const next = await continuation.invoke({ resume: first.replayId, rate: 0, continue: true, chain: 2 });
    await continuation.done();
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_400);
    expect(next).toMatchObject({ chain: 2, complete: true, publishedTotal: EVENTS });
    expectEachOnce(first.replayId);
  });
});
