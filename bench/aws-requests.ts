/**
 * Benchmark 4, AWS requests per event: the local pipeline in this process (`startLocalPipeline`), its
 * handlers' module-scope SDK clients counted by a middleware, the local servers' HTTP requests counted
 * too (which adds the queue poller that stands in for Lambda's event source mapping). Three phases:
 *   A. new events under load: distinct signed IPNs, `--concurrency` at a time, until every one is
 *      published and the queue is drained (the steady state the targets are about);
 *   B. redeliveries: the same bodies again, of events already published (okePay's at-least-once);
 *   C. new events at low traffic: one at a time, `--trickle-gap` ms apart.
 * By default A + B are 800 + 200 = 1,000 POSTs, 20 % of them duplicates. The figures become a cost per
 * million events with the us-east-1 list prices below.
 *
 *   npx tsx bench/aws-requests.ts [--events 800] [--redeliveries 200] [--concurrency 10] \
 *     [--trickle 50] [--trickle-gap 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type {
  BatchGetItemCommandInput,
  PutItemCommandInput,
  UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { startLocalPipeline } from '../functions/local/pipeline.ts';
import {
  INDEX_PROJECTED_ATTRIBUTES,
  ORDER_REF_INDEX,
  RECEIVED_DAY_INDEX,
  TABLE_KEYS,
} from '../functions/shared/store/table-design.ts';
import { BENCH_SECRET, benchIpnBody, signedHeaders } from './lib/bench-ipn.ts';
import {
  type IndexDesign,
  type Item,
  indexWriteUnits,
  itemSize,
  strongReadUnits,
  writeUnits,
} from './lib/dynamodb-capacity.ts';
import { runMain } from './lib/main.ts';
import {
  countServerRequests,
  difference,
  type HttpCounts,
  recordSdkCalls,
  type SdkCall,
  snapshot,
} from './lib/request-counter.ts';
import { formatNumber, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

/**
 * Public list prices, us-east-1, USD, as published on the AWS pricing pages in 2025 (DynamoDB's
 * on-demand prices are those after the November 2024 reduction). Free tiers are left out.
 */
export const PRICES = {
  dynamoDbWriteRequestUnit: 0.625 / 1e6, // on demand, Standard table class
  dynamoDbReadRequestUnit: 0.125 / 1e6, // on demand; a strongly consistent read of ≤ 4 KB is 1 RRU
  sqsRequest: 0.4 / 1e6, // standard queue, per request per 64 KB chunk of payload
  eventBridgeEvent: 1.0 / 1e6, // custom events, per entry per 64 KB chunk
  apiGatewayHttpRequest: 1.0 / 1e6, // HTTP API, first 300 million a month, per 512 KB chunk
  lambdaRequest: 0.2 / 1e6, // per invocation; duration (GB-s) not included
} as const;

const INDEXES: IndexDesign[] = [
  { keys: [ORDER_REF_INDEX.partitionKey, ORDER_REF_INDEX.sortKey], projected: INDEX_PROJECTED_ATTRIBUTES },
  {
    keys: [RECEIVED_DAY_INDEX.partitionKey, RECEIVED_DAY_INDEX.sortKey],
    projected: INDEX_PROJECTED_ATTRIBUTES,
  },
];
const TABLE_KEY_NAMES = [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey];
const SQS_CHUNK = 64 * 1024;

interface Phase {
  name: string;
  posts: number;
  calls: SdkCall[];
  http: HttpCounts;
}

interface Options {
  events: number;
  redeliveries: number;
  concurrency: number;
  trickle: number;
  trickleGapMs: number;
}

async function postAll(
  url: string,
  bodies: readonly string[],
  concurrency: number,
  gapMs = 0,
): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] ?? '';
      const response = await fetch(url, {
        method: 'POST',
        headers: signedHeaders(body),
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const answer = `${response.status} ${((await response.json()) as { status?: string }).status ?? ''}`;
      statuses.set(answer, (statuses.get(answer) ?? 0) + 1);
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until no request reached the servers for `quietMs` (the poller's idle polls aside). */
async function settle(http: HttpCounts, quietMs: number, timeoutMs: number): Promise<void> {
  const busy = () =>
    [...http.requests].filter(([key]) => key !== 'SQS.ReceiveMessage').reduce((s, [, n]) => s + n, 0);
  let last = busy();
  let quietSince = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() - quietSince < quietMs && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (busy() !== last) {
      last = busy();
      quietSince = Date.now();
    }
  }
}

const keyOf = (item: Item | undefined) => `${item?.pk?.S}|${item?.sk?.S}`;

interface Units {
  wru: number;
  rru: number;
  rruGetItem: number;
  eventBridgeEvents: number;
  putEventsEntries: number;
  batchGetKeys: number;
  /** Sum of the sizes of the items created, for their average. */
  createdItemBytes: number;
  createdItems: number;
}

/** Request units of a phase's calls, per the rules in lib/dynamodb-capacity.ts. */
function unitsOf(calls: readonly SdkCall[], items: Map<string, Item>): Units {
  const units: Units = {
    wru: 0,
    rru: 0,
    rruGetItem: 0,
    eventBridgeEvents: 0,
    putEventsEntries: 0,
    batchGetKeys: 0,
    createdItemBytes: 0,
    createdItems: 0,
  };
  for (const call of calls) {
    if (call.operation === 'PutItem') {
      const item = (call.input as PutItemCommandInput).Item ?? {};
      const existing = items.get(keyOf(item));
      if (!call.error) {
        units.wru += writeUnits(itemSize(item)) + indexWriteUnits(item, TABLE_KEY_NAMES, INDEXES);
        units.createdItemBytes += itemSize(item);
        units.createdItems += 1;
        items.set(keyOf(item), item);
      } else {
        units.wru += writeUnits(itemSize(existing ?? item)); // failed condition: the existing item's size
      }
    } else if (call.operation === 'UpdateItem') {
      const input = call.input as UpdateItemCommandInput;
      const before = items.get(keyOf(input.Key)) ?? input.Key ?? {};
      const at = input.ExpressionAttributeValues?.[':at'];
      const after: Item = { ...before, status: { S: 'published' }, ...(at ? { publishedAt: at } : {}) };
      units.wru += writeUnits(Math.max(itemSize(before), itemSize(after)));
      // `status` is projected into both indexes: marking an item published rewrites both entries.
      if (!call.error) units.wru += indexWriteUnits(after, TABLE_KEY_NAMES, INDEXES);
      items.set(keyOf(input.Key), after);
    } else if (call.operation === 'BatchGetItem') {
      for (const request of Object.values((call.input as BatchGetItemCommandInput).RequestItems ?? {})) {
        for (const key of request.Keys ?? []) {
          units.batchGetKeys += 1;
          units.rru += strongReadUnits(itemSize(items.get(keyOf(key)) ?? key));
        }
      }
    } else if (call.operation === 'GetItem') {
      units.rruGetItem += 1;
    } else if (call.operation === 'PutEvents') {
      for (const entry of (call.input as PutEventsCommandInput).Entries ?? []) {
        // EventBridge's entry size: Time (14 bytes) + Source + DetailType + Detail + Resources, in UTF-8.
        const size =
          14 +
          Buffer.byteLength(entry.Source ?? '') +
          Buffer.byteLength(entry.DetailType ?? '') +
          Buffer.byteLength(entry.Detail ?? '') +
          (entry.Resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource), 0);
        units.putEventsEntries += 1;
        units.eventBridgeEvents += Math.ceil(size / SQS_CHUNK);
      }
    }
  }
  return units;
}

const ROWS: { service: string; operation: string; by: string }[] = [
  { service: 'DynamoDB', operation: 'PutItem', by: 'ingest' },
  { service: 'DynamoDB', operation: 'GetItem', by: 'ingest (†)' },
  { service: 'DynamoDB', operation: 'BatchGetItem', by: 'consumer' },
  { service: 'DynamoDB', operation: 'UpdateItem', by: 'consumer' },
  { service: 'SQS', operation: 'SendMessage', by: 'ingest' },
  { service: 'SQS', operation: 'ReceiveMessage', by: 'event source (‡)' },
  { service: 'SQS', operation: 'DeleteMessageBatch', by: 'event source (‡)' },
  { service: 'EventBridge', operation: 'PutEvents', by: 'consumer' },
];

const sdkCount = (phase: Phase, service: string, operation: string) =>
  phase.calls.filter((call) => call.service === service && call.operation === operation).length;
const httpCount = (phase: Phase, service: string, operation: string) =>
  phase.http.requests.get(`${service}.${operation}`) ?? 0;
const nonEmptyReceives = (phase: Phase) =>
  httpCount(phase, 'SQS', 'ReceiveMessage') - phase.http.emptyReceives;
const perEvent = (count: number, events: number) => (events > 0 ? formatNumber(count / events, 3) : '');

/** The request count of a table row in a phase: what the servers received (it includes the poller). */
function rowCount(phase: Phase, service: string, operation: string): number {
  if (operation === 'ReceiveMessage, with messages') return nonEmptyReceives(phase);
  if (operation === 'ReceiveMessage, empty (idle poll)') return phase.http.emptyReceives;
  return httpCount(phase, service, operation);
}

export async function runAwsRequests(options: Options): Promise<void> {
  const http = countServerRequests();
  const dataDir = mkdtempSync(join(tmpdir(), 'okepay-bench-requests-'));
  const pipeline = await startLocalPipeline({ port: 0, dataDir, secrets: [BENCH_SECRET], print: () => {} });
  const calls: SdkCall[] = [];
  try {
    // The same module instances the handlers imported: their clients, built at the handlers' import.
    const { dynamoDbClient } = await import('../functions/shared/clients/dynamodb.ts');
    const { sqsClient } = await import('../functions/shared/clients/sqs.ts');
    const { eventBridgeClient } = await import('../functions/shared/clients/eventbridge.ts');
    recordSdkCalls(dynamoDbClient.middlewareStack, 'DynamoDB', calls);
    recordSdkCalls(sqsClient.middlewareStack, 'SQS', calls);
    recordSdkCalls(eventBridgeClient.middlewareStack, 'EventBridge', calls);
    const url = pipeline.endpoints.ipnUrl;
    const run = Date.now().toString(36);
    const bodiesOf = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, index) =>
        benchIpnBody(`pay_${prefix}_${run}_${index}`, { event: 'payment.succeeded' }),
      );
    const bodies = bodiesOf('load', options.events);
    const published = () => calls.filter((call) => call.operation === 'UpdateItem' && !call.error).length;

    const phases: Phase[] = [];
    const statuses: string[] = [];
    const runPhase = async (
      name: string,
      posts: readonly string[],
      send: (posts: readonly string[]) => Promise<Map<string, number>>,
      done: () => boolean,
    ) => {
      const startCall = calls.length;
      const before = snapshot(http);
      const answered = await send(posts);
      statuses.push(`${name}: ${[...answered].map(([status, count]) => `${count} × ${status}`).join(', ')}`);
      await waitUntil(done, 120_000, `${name} to be processed`);
      await settle(http, 1_500, 30_000);
      phases.push({
        name,
        posts: posts.length,
        calls: calls.slice(startCall),
        http: difference(snapshot(http), before),
      });
    };
    const underLoad = (posts: readonly string[]) => postAll(url, posts, options.concurrency);
    await runPhase('A, new events under load', bodies, underLoad, () => published() >= options.events);
    await runPhase('B, redeliveries', bodies.slice(0, options.redeliveries), underLoad, () => true);
    await runPhase(
      'C, new events one at a time',
      bodiesOf('trickle', options.trickle),
      (posts) => postAll(url, posts, 1, options.trickleGapMs),
      () => published() >= options.events + options.trickle,
    );

    const [fresh, redelivered, trickle] = phases;
    if (!fresh || !redelivered || !trickle) throw new Error('a phase is missing');
    const items = new Map<string, Item>();
    const freshUnits = unitsOf(fresh.calls, items);
    const redeliveryUnits = unitsOf(redelivered.calls, items);
    const trickleUnits = unitsOf(trickle.calls, items);

    // Rows: each operation (receives split in two), then anything unexpected the servers saw.
    const rows = ROWS.flatMap((row) =>
      row.operation === 'ReceiveMessage'
        ? [
            { ...row, operation: 'ReceiveMessage, with messages' },
            { ...row, operation: 'ReceiveMessage, empty (idle poll)' },
          ]
        : [row],
    );
    for (const phase of phases) {
      for (const [key, count] of phase.http.requests) {
        const [service = '', operation = ''] = key.split('.');
        const known = ROWS.some((row) => row.service === service && row.operation === operation);
        const listed = rows.some((row) => row.service === service && row.operation === operation);
        if (count > 0 && !known && !listed) rows.push({ service, operation, by: '?' });
      }
    }
    // The middleware's count of each handler operation must agree with what the servers received.
    const disagreements = ROWS.filter((row) => !row.by.startsWith('event source')).flatMap((row) =>
      phases
        .filter(
          (phase) =>
            sdkCount(phase, row.service, row.operation) !== httpCount(phase, row.service, row.operation),
        )
        .map(
          (phase) =>
            `${row.service} ${row.operation} in ${phase.name}: SDK ${sdkCount(phase, row.service, row.operation)}, servers ${httpCount(phase, row.service, row.operation)}`,
        ),
    );
    const batchesOf = (phase: Phase) => sdkCount(phase, 'DynamoDB', 'BatchGetItem');
    printTable(
      `4. AWS requests per event through the local pipeline: A ${formatNumber(fresh.posts)} new events under load, B ${formatNumber(redelivered.posts)} redeliveries, C ${formatNumber(trickle.posts)} new events one at a time`,
      [
        'service',
        'operation',
        'made by',
        'A: requests',
        'A: per event',
        'B: requests',
        'B: per redelivery',
        'C: requests',
        'C: per event',
      ],
      rows.map((row) => [
        row.service,
        row.operation,
        row.by,
        ...[fresh, redelivered, trickle].flatMap((phase) => {
          const count = rowCount(phase, row.service, row.operation);
          return [formatNumber(count), perEvent(count, phase.posts)];
        }),
      ]),
      [
        ...statuses.map((line) => `Answers, ${line}.`),
        `Consumer invocations: A ${formatNumber(batchesOf(fresh))} (${formatNumber(fresh.posts / Math.max(1, batchesOf(fresh)), 2)} events per batch), C ${formatNumber(batchesOf(trickle))} (${formatNumber(trickle.posts / Math.max(1, batchesOf(trickle)), 2)} per batch, ${options.trickleGapMs} ms between events).`,
        "Requests as the local servers received them; the SDK middleware on the handlers' clients counted the same",
        `for every handler operation${disagreements.length ? `, except: ${disagreements.join('; ')}` : ''}.`,
        '(†) GetItem only happens against dynalite: DynamoDB returns the existing item with a failed conditional put',
        '    (ReturnValuesOnConditionCheckFailure), dynalite does not, so the adapter reads it back.',
        "(‡) The local queue poller, standing in for Lambda's event source mapping (which AWS bills the same way).",
      ],
    );

    // Targets, in the steady state under load (phase A).
    const n = fresh.posts;
    const ingestWrites = sdkCount(fresh, 'DynamoDB', 'PutItem') / n;
    const ingestSends = sdkCount(fresh, 'SQS', 'SendMessage') / n;
    const consumerWrites = sdkCount(fresh, 'DynamoDB', 'UpdateItem') / n;
    const putEventsCalls = sdkCount(fresh, 'EventBridge', 'PutEvents') / n;
    const putEventsPerBatch = sdkCount(fresh, 'EventBridge', 'PutEvents') / Math.max(1, batchesOf(fresh));
    const tricklePutEvents = sdkCount(trickle, 'EventBridge', 'PutEvents') / Math.max(1, trickle.posts);
    const targets = [
      { target: 'ingest: 1 DynamoDB write per event', value: ingestWrites, met: ingestWrites === 1 },
      { target: 'ingest: 1 SQS send per event', value: ingestSends, met: ingestSends === 1 },
      { target: 'consumer: 1 DynamoDB write per event', value: consumerWrites, met: consumerWrites === 1 },
      {
        target: 'consumer: ≤ 0.1 PutEvents calls per event',
        value: putEventsCalls,
        met: putEventsCalls <= 0.1,
      },
    ];
    printTable(
      '4b. AWS requests per event: targets (phase A, new events under load)',
      ['target', 'measured', 'verdict'],
      targets.map((entry) => [entry.target, formatNumber(entry.value, 3), verdict(entry.met)]),
      [
        `PutEvents calls per consumer invocation: ${formatNumber(putEventsPerBatch, 2)} (one call per batch of up to 10). Per event, the`,
        `figure is set by how full the batches are: ${formatNumber(tricklePutEvents, 2)} per event in phase C (${formatNumber(trickle.posts / Math.max(1, batchesOf(trickle)), 2)} events per batch).`,
      ],
    );
    const batchNote = `${formatNumber(putEventsPerBatch, 2)} per batch, ${formatNumber(n / Math.max(1, batchesOf(fresh)), 2)} events per batch`;
    recordTargets(
      targets.map((entry) => ({
        benchmark: '4. AWS requests',
        target: entry.target,
        measured:
          entry === targets[3]
            ? `${formatNumber(entry.value, 3)} (${batchNote})`
            : formatNumber(entry.value, 3),
        met: entry.met,
      })),
    );

    // Cost per million events, from the units of each phase.
    const sqsRequests = (phase: Phase) =>
      httpCount(phase, 'SQS', 'SendMessage') +
      nonEmptyReceives(phase) +
      httpCount(phase, 'SQS', 'DeleteMessageBatch');
    const invocations = (phase: Phase) => phase.posts + nonEmptyReceives(phase);
    const unitsPerPost = (pick: (phase: Phase, index: number) => number): [number, number, number] => [
      pick(fresh, 0) / fresh.posts,
      pick(redelivered, 1) / Math.max(1, redelivered.posts),
      pick(trickle, 2) / Math.max(1, trickle.posts),
    ];
    const units = [freshUnits, redeliveryUnits, trickleUnits];
    const unitsAt = (index: number) => units[index] ?? freshUnits;
    const costRows: { item: string; price: number; units: [number, number, number] }[] = [
      { item: 'API Gateway HTTP API requests', price: PRICES.apiGatewayHttpRequest, units: [1, 1, 1] },
      {
        item: 'Lambda requests (ingest + consumer invocations)',
        price: PRICES.lambdaRequest,
        units: unitsPerPost((phase) => invocations(phase)),
      },
      {
        item: 'DynamoDB write request units (table + 2 GSIs)',
        price: PRICES.dynamoDbWriteRequestUnit,
        units: unitsPerPost((_phase, index) => unitsAt(index).wru),
      },
      {
        item: 'DynamoDB read request units (BatchGetItem, strong)',
        price: PRICES.dynamoDbReadRequestUnit,
        units: unitsPerPost((_phase, index) => unitsAt(index).rru),
      },
      {
        item: 'SQS requests (send, receive, delete batch)',
        price: PRICES.sqsRequest,
        units: unitsPerPost((phase) => sqsRequests(phase)),
      },
      {
        item: 'EventBridge custom events (64 KB chunks)',
        price: PRICES.eventBridgeEvent,
        units: unitsPerPost((_phase, index) => unitsAt(index).eventBridgeEvents),
      },
    ];
    const share = options.redeliveries / (options.events + options.redeliveries);
    const mixed = (values: [number, number, number]) => (1 - share) * values[0] + share * values[1];
    const dollars = (value: number) => `$${formatNumber(value * 1e6, 3)}`;
    const total = (pick: (row: (typeof costRows)[number]) => number) =>
      costRows.reduce((sum, row) => sum + pick(row), 0);
    printTable(
      '4c. Cost per million events, us-east-1 list prices (free tiers and Lambda duration left out)',
      [
        'item',
        'price per million',
        'units per POST: A / B / C',
        '$ per 1M new events (A)',
        `$ per 1M POSTs, ${formatNumber(share * 100)} % redeliveries (A+B)`,
        '$ per 1M new events one at a time (C)',
      ],
      [
        ...costRows.map((row) => [
          row.item,
          dollars(row.price),
          row.units.map((value) => formatNumber(value, 3)).join(' / '),
          dollars(row.price * row.units[0]),
          dollars(row.price * mixed(row.units)),
          dollars(row.price * row.units[2]),
        ]),
        [
          'total',
          '',
          '',
          dollars(total((row) => row.price * row.units[0])),
          dollars(total((row) => row.price * mixed(row.units))),
          dollars(total((row) => row.price * row.units[2])),
        ],
      ],
      [
        `Units from the requests themselves (bench/lib/dynamodb-capacity.ts): stored items of ${formatNumber(freshUnits.createdItemBytes / Math.max(1, freshUnits.createdItems))} bytes on`,
        'average, so a new item costs 1 WRU + 1 per index, and marking it published rewrites both index entries',
        '(status is projected into both). PutEvents entries are billed per 64 KB chunk, not per call.',
        'Not per event, so not in the table: the idle long polls of the event source mapping, storage, logs.',
        `The GetItem read-back (†) is left out: it does not happen against DynamoDB (${formatNumber(redeliveryUnits.rruGetItem)} in phase B here).`,
      ],
    );
  } finally {
    await pipeline.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '800' },
      redeliveries: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '10' },
      trickle: { type: 'string', default: '50' },
      'trickle-gap': { type: 'string', default: '100' },
    },
  });
  await runAwsRequests({
    events: Number(values.events),
    redeliveries: Number(values.redeliveries),
    concurrency: Number(values.concurrency),
    trickle: Number(values.trickle),
    trickleGapMs: Number(values['trickle-gap']),
  });
});
