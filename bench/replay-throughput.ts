/**
 * Benchmark 5, replay throughput from the local store to the local bus, with no rate limit, as
 * `okepay replay --local` runs it: the local pipeline (`npm start`) in a child process holds the store
 * (dynalite, persisted) and the bus (the local EventBridge endpoint, which writes bus.jsonl); its table
 * is seeded with N stored events of one UTC day, and the replay runs in this process against the
 * endpoints the pipeline wrote. events/s from the first read to the last PutEvents answer.
 *
 * Rows: the replay's domain function, `runReplay` (functions/replay/run-replay.ts), with the adapters
 * the CLI gives it and `rate: 0` (what `--rate` unset means with `--local`), and a floor that does the
 * least a replay must: Query the day index, read the bodies with the store's getMany (BatchGetItem, 100
 * keys), normalise with the replay marker and publish with publishEntries (PutEvents of 10), one page
 * after the other, without progress records. After a warm-up round of each, rounds alternate between
 * the two; the mean is reported.
 *
 *   npx tsx bench/replay-throughput.ts [--events 5000] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDbReplayProgressStore } from '../functions/replay/dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from '../functions/replay/dynamodb-stored-event-query.ts';
import { type ReplayDeps, runReplay } from '../functions/replay/run-replay.ts';
import { EventBridgeEventBus } from '../functions/shared/bus/eventbridge-event-bus.ts';
import { publishEntries } from '../functions/shared/bus/publish-entries.ts';
import { toCanonicalEvent } from '../functions/shared/canonical/normalise.ts';
import { DynamoDbEventStore } from '../functions/shared/store/dynamodb-event-store.ts';
import type { EventKey } from '../functions/shared/store/event-store.ts';
import { RECEIVED_DAY_INDEX, receivedDayKeys } from '../functions/shared/store/table-design.ts';
import { benchIpnBody } from './lib/bench-ipn.ts';
import { runMain } from './lib/main.ts';
import { startPipelineProcess } from './lib/pipeline-process.ts';
import { storedItem } from './lib/stored-item.ts';
import { formatNumber, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const TARGET_EVENTS_PER_SECOND = 2_000;
const PAGE = 100;

interface Row {
  name: string;
  events: number;
  seconds: number;
  note: string;
}

async function seed(client: DynamoDBClient, tableName: string, count: number, day: string): Promise<void> {
  const items = Array.from({ length: count }, (_, index) => {
    // payment.pending: no example rule matches it, so the pipeline prints nothing per event.
    const body = Buffer.from(benchIpnBody(`pay_replay_${index}`));
    // Spread over the day, in order: the replay's order is the received time.
    const receivedAt = new Date(Date.parse(`${day}T00:00:00Z`) + index * 1000).toISOString();
    return storedItem({
      body,
      signatureTimestamp: Date.parse(receivedAt) / 1000,
      receivedAt,
      status: 'published',
    });
  });
  const batches: Record<string, AttributeValue>[][] = [];
  for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = (batches[next++] ?? []).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const response = await client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
        );
        pending = (response.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
          request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** The floor: index Query, getMany, normalise, publishEntries; sequential pages. */
async function floorReplay(
  client: DynamoDBClient,
  tableName: string,
  bus: EventBridgeEventBus,
  day: string,
): Promise<number> {
  const store = new DynamoDbEventStore(client, tableName);
  const keys: EventKey[] = [];
  // Every partition of the day (its 16 shards and the unsharded key), as the replay reads it.
  for (const partition of receivedDayKeys(day)) {
    const pages = paginateQuery(
      { client },
      {
        TableName: tableName,
        IndexName: RECEIVED_DAY_INDEX.name,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': RECEIVED_DAY_INDEX.partitionKey, '#event': 'event' },
        ExpressionAttributeValues: { ':day': { S: partition } },
        ProjectionExpression: 'paymentId, #event',
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (item.paymentId?.S && item.event?.S)
          keys.push({ paymentId: item.paymentId.S, event: item.event.S });
      }
    }
  }
  const replay = { replayId: 'bench-replay', requestedAt: new Date().toISOString() };
  let published = 0;
  for (let start = 0; start < keys.length; start += PAGE) {
    const events = await store.getMany(keys.slice(start, start + PAGE));
    const entries = events.map((event) => toCanonicalEvent(event, { source: 'okepay', replay }).entry);
    const results = await publishEntries(entries, { bus, deadline: Number.POSITIVE_INFINITY });
    published += results.filter((result) => result.ok).length;
  }
  return published;
}

const mean = (name: string, series: readonly Row[]): Row => ({
  name,
  events: series.reduce((sum, row) => sum + row.events, 0) / series.length,
  seconds: series.reduce((sum, row) => sum + row.seconds, 0) / series.length,
  note: series.at(-1)?.note ?? '',
});

export async function runReplayThroughput(options: { events: number; rounds: number }): Promise<void> {
  const pipeline = await startPipelineProcess();
  const { endpoints } = pipeline;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  // As the CLI's --local target builds its clients from endpoints.json.
  const requestHandler = { connectionTimeout: 1_000, requestTimeout: 5_000 };
  const region = endpoints.region;
  const dynamoDb = new DynamoDBClient({ region, endpoint: endpoints.dynamodb, credentials, requestHandler });
  const eventBridge = new EventBridgeClient({
    region,
    endpoint: endpoints.eventbridge,
    credentials,
    requestHandler,
  });
  const bus = new EventBridgeEventBus(eventBridge, endpoints.eventBusName);
  const tableName = endpoints.tableName;
  try {
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const seedStarted = performance.now();
    await seed(dynamoDb, tableName, options.events, day);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const deps: ReplayDeps = {
      query: new DynamoDbStoredEventQuery(dynamoDb, tableName),
      store: new DynamoDbEventStore(dynamoDb, tableName),
      progress: new DynamoDbReplayProgressStore(dynamoDb, tableName),
      bus,
      eventSource: endpoints.eventSource,
      now: Date.now,
    };
    const measured = { floor: [] as Row[], replay: [] as Row[] };
    // A first round of each, reported apart: it pays for compiling the code paths (JIT), as a one-off
    // `okepay replay` does; a long replay runs at the steady rate of the rounds after it.
    let firstStarted = performance.now();
    const first = await runReplay({ selection: { since: day } }, deps, { rate: 0 });
    const firstRow: Row = {
      name: 'replay: first run in a fresh process',
      events: first.published,
      seconds: (performance.now() - firstStarted) / 1000,
      note: 'includes JIT warm-up',
    };
    firstStarted = performance.now();
    await floorReplay(dynamoDb, tableName, bus, day);
    const firstFloorSeconds = (performance.now() - firstStarted) / 1000;
    for (let round = 0; round < options.rounds; round++) {
      let started = performance.now();
      const outcome = await runReplay({ selection: { since: day } }, deps, { rate: 0 });
      measured.replay.push({
        name: 'replay',
        events: outcome.published,
        seconds: (performance.now() - started) / 1000,
        note: `${formatNumber(outcome.failures.length)} failures${outcome.complete ? '' : ', incomplete'}`,
      });

      started = performance.now();
      const published = await floorReplay(dynamoDb, tableName, bus, day);
      measured.floor.push({
        name: 'floor',
        events: published,
        seconds: (performance.now() - started) / 1000,
        note: '',
      });
    }
    const replayRow = mean('replay: runReplay, rate 0 (--local, --rate unset), warm', measured.replay);
    const rows = [
      replayRow,
      firstRow,
      mean('floor: Query + BatchGetItem + PutEvents, sequential pages, warm', measured.floor),
      {
        name: 'floor: first run',
        events: options.events,
        seconds: firstFloorSeconds,
        note: "after the replay's first run",
      },
    ];
    const replayRate = replayRow.events / replayRow.seconds;
    const expectedOnBus = (options.rounds + 1) * 2 * options.events;
    printTable(
      `5. Replay throughput, local store → local bus: ${formatNumber(options.events)} stored events, no rate limit`,
      [
        'replay',
        'events',
        'time',
        'events/s',
        `target ≥ ${formatNumber(TARGET_EVENTS_PER_SECOND)}/s`,
        'note',
      ],
      rows.map((row) => {
        const rate = row.events / row.seconds;
        const isReplay = row === replayRow || row === firstRow;
        return [
          row.name,
          formatNumber(row.events),
          `${formatNumber(row.seconds, 2)} s`,
          formatNumber(rate),
          isReplay ? verdict(rate >= TARGET_EVENTS_PER_SECOND) : '',
          row.note,
        ];
      }),
      [
        `Store and bus: \`okepay serve\` in its own process; the replay in this one (2 cores in all). Mean of`,
        `${options.rounds} rounds, alternating, after a warm-up round of each. runReplay keeps 4 PutEvents batches`,
        'in flight, reads the next page ahead and checkpoints its progress record each second. Seeding took',
        `${formatNumber(seedSeconds, 1)} s (BatchWriteItem); the bus accepted ${formatNumber(pipeline.eventsOnBus())} events (bus.jsonl) of the ${formatNumber(expectedOnBus)} published.`,
      ],
    );
    recordTargets([
      {
        benchmark: '5. replay',
        target: `≥ ${formatNumber(TARGET_EVENTS_PER_SECOND)} events/s, --rate unset`,
        measured: `${formatNumber(replayRate)}/s warm, ${formatNumber(firstRow.events / firstRow.seconds)}/s first run`,
        met: Number.isNaN(replayRate) ? undefined : replayRate >= TARGET_EVENTS_PER_SECOND,
      },
    ]);
  } finally {
    dynamoDb.destroy();
    eventBridge.destroy();
    await pipeline.close();
  }
}

runMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: { events: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '2' } },
  });
  await runReplayThroughput({ events: Number(values.events), rounds: Number(values.rounds) });
});
