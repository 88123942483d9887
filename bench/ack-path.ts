/**
 * Benchmark 1, the ack path: signed IPNs with unique payment ids POSTed over loopback, side by side in
 * one run, to
 *   - floor 1, a bare node:http server that only verifies the HMAC;
 *   - floor 2, a bare server that verifies the HMAC and makes the same conditional PutItem and
 *     SendMessage with the SDK against dynalite and local-aws-sqs started in its process;
 *   - ingest only (diagnostic): the ingest handler behind the local API Gateway adapter, same servers,
 *     no consumer;
 *   - the local pipeline, `okepay serve` (what `npm start` runs), consumer and bus included.
 * Each server is its own process (peak RSS is its own VmHWM), started fresh for each round. autocannon
 * drives it for a fixed time with a fixed number of connections, after a warm-up.
 *
 *   npx tsx bench/ack-path.ts [--duration 10] [--warmup 2] [--connections 20] [--rounds 1]
 *                             [--only floor1,floor2,ingest-only,pipeline]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { BENCH_SECRET, benchIpnBody, signedHeaders } from './lib/bench-ipn.ts';
import { type ChildServer, startChildServer } from './lib/child-server.ts';
import { runMain } from './lib/main.ts';
import { ROOT, startPipelineProcess } from './lib/pipeline-process.ts';
import { formatMegabytes, formatNumber, formatRatio, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const TARGET_THROUGHPUT_RATIO = 0.8;
const TARGET_PEAK_RSS_BYTES = 250 * 1024 * 1024;

export interface AckPathOptions {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  rounds: number;
  /** Subject keys to run; all when empty. */
  only: string[];
}

interface Started {
  server: ChildServer;
  /** Extra words for the notes, read just before the process stops. */
  describe?: () => string;
  close(): Promise<void>;
}

interface Subject {
  key: string;
  name: string;
  start(): Promise<Started>;
}

interface Round {
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  peakRssBytes: number;
  cpuSeconds: number;
  note: string;
}

const floorServer = (file: string) => async (): Promise<Started> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'okepay-bench-server-'));
  const server = await startChildServer({
    args: ['--import', 'tsx', join('bench/servers', file)],
    cwd: ROOT,
    env: { ...process.env, OKEPAY_WEBHOOK_SECRETS: BENCH_SECRET, BENCH_DATA_DIR: dataDir },
    readyPattern: /listening (\S+)/,
  });
  return {
    server,
    close: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

async function pipeline(): Promise<Started> {
  const process = await startPipelineProcess();
  return {
    server: process,
    describe: () => `${formatNumber(process.eventsOnBus())} events on the bus by the end of the round`,
    close: () => process.close(),
  };
}

const FLOOR_2 = 'floor 2: HMAC + PutItem + SendMessage';
const PIPELINE = 'local pipeline (npm start)';
const SUBJECTS: Subject[] = [
  { key: 'floor1', name: 'floor 1: node:http + HMAC', start: floorServer('hmac-server.ts') },
  { key: 'floor2', name: FLOOR_2, start: floorServer('hmac-aws-server.ts') },
  {
    key: 'ingest-only',
    name: 'ingest handler only, no consumer (diagnostic)',
    start: floorServer('ingest-only-server.ts'),
  },
  { key: 'pipeline', name: PIPELINE, start: pipeline },
];

let sequence = 0;

async function load(url: string, seconds: number, connections: number) {
  const { pathname } = new URL(url);
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: pathname,
        // A new payment id per request: every request is a first delivery, stored and enqueued.
        setupRequest: (request) => {
          sequence += 1;
          const body = benchIpnBody(`pay_${process.pid}_${sequence}`);
          return { ...request, method: 'POST', path: pathname, body, headers: signedHeaders(body) };
        },
      },
    ],
  });
}

async function measure(subject: Subject, options: AckPathOptions): Promise<Round> {
  const started = await subject.start();
  try {
    const sentBefore = sequence;
    if (options.warmupSeconds > 0) await load(started.server.url, options.warmupSeconds, options.connections);
    const cpuBefore = started.server.cpuSeconds();
    const result = await load(started.server.url, options.durationSeconds, options.connections);
    const cpuSeconds = started.server.cpuSeconds() - cpuBefore;
    const note = started.describe
      ? `${started.describe()}, of ${formatNumber(sequence - sentBefore)} sent`
      : '';
    return {
      requests: result.requests.total,
      seconds: result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      peakRssBytes: started.server.peakRssBytes(),
      cpuSeconds,
      note,
    };
  } finally {
    await started.close();
  }
}

export async function runAckPath(options: AckPathOptions): Promise<void> {
  const subjects = SUBJECTS.filter(
    (subject) => options.only.length === 0 || options.only.includes(subject.key),
  );
  const rounds = new Map<string, Round[]>(subjects.map((subject) => [subject.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const subject of subjects) rounds.get(subject.name)?.push(await measure(subject, options));
  }
  const summary = subjects.map((subject) => {
    const series = rounds.get(subject.name) ?? [];
    const sum = (pick: (round: Round) => number) => series.reduce((total, round) => total + pick(round), 0);
    return {
      name: subject.name,
      requestsPerSecond: sum((round) => round.requests) / sum((round) => round.seconds),
      perRound: series.map((round) => formatNumber(round.requests / round.seconds)).join(' / '),
      p50Ms: sum((round) => round.p50Ms) / series.length,
      p99Ms: Math.max(...series.map((round) => round.p99Ms)),
      non2xx: sum((round) => round.non2xx),
      errors: sum((round) => round.errors),
      peakRssBytes: Math.max(...series.map((round) => round.peakRssBytes)),
      cpuMsPerRequest: (1000 * sum((round) => round.cpuSeconds)) / sum((round) => round.requests),
      notes: series.map((round) => round.note).filter((note) => note !== ''),
    };
  });
  const floor2 = summary.find((entry) => entry.name === FLOOR_2);
  const local = summary.find((entry) => entry.name === PIPELINE);
  const ratio = floor2 && local ? local.requestsPerSecond / floor2.requestsPerSecond : Number.NaN;
  const throughputMet = ratio >= TARGET_THROUGHPUT_RATIO;
  const rssMet = local ? local.peakRssBytes < TARGET_PEAK_RSS_BYTES : undefined;

  const roundsText = options.rounds > 1 ? `, ${options.rounds} rounds` : '';
  printTable(
    `1. Ack path: ${options.connections} connections, ${options.durationSeconds} s after a ${options.warmupSeconds} s warm-up${roundsText}`,
    [
      'server',
      'req/s',
      ...(options.rounds > 1 ? ['per round'] : []),
      'vs floor 2',
      'p50',
      'p99',
      'non-2xx',
      'errors',
      'peak RSS',
      'server CPU per request',
    ],
    summary.map((entry) => [
      entry.name,
      formatNumber(entry.requestsPerSecond),
      ...(options.rounds > 1 ? [entry.perRound] : []),
      floor2 ? formatRatio(entry.requestsPerSecond / floor2.requestsPerSecond) : '',
      `${formatNumber(entry.p50Ms)} ms`,
      `${formatNumber(entry.p99Ms)} ms`,
      formatNumber(entry.non2xx),
      formatNumber(entry.errors),
      formatMegabytes(entry.peakRssBytes),
      `${formatNumber(entry.cpuMsPerRequest, 2)} ms`,
    ]),
    [
      Number.isNaN(ratio)
        ? `Target: pipeline ≥ ${TARGET_THROUGHPUT_RATIO} × floor 2 throughput: not measured (run floor2 and pipeline).`
        : `Target: pipeline ≥ ${TARGET_THROUGHPUT_RATIO} × floor 2 throughput: ${formatRatio(ratio)}, ${verdict(throughputMet)}.`,
      `Target: pipeline peak RSS < ${formatMegabytes(TARGET_PEAK_RSS_BYTES)}: ${local ? formatMegabytes(local.peakRssBytes) : '?'}, ${verdict(rssMet)}.`,
      'Every server is its own process, started fresh; peak RSS is its VmHWM. All but floor 1 host dynalite',
      '(persisted) and local-aws-sqs in that process; the pipeline also runs its consumer and local bus there.',
      "The load generator shares the 2 cores. Latencies are autocannon's (1 ms resolution). Server CPU per",
      'request: user + system time of the server process during the measured run over its requests; it moves',
      "less than throughput when other work shares the machine. The pipeline's figure includes only the",
      'consumer work done during the run (events on the bus below).',
      ...(local?.notes.length ? [`Pipeline: ${local.notes.join('; ')}.`] : []),
    ],
  );
  recordTargets([
    {
      benchmark: '1. ack path',
      target: `throughput ≥ ${TARGET_THROUGHPUT_RATIO} × floor 2`,
      measured: formatRatio(ratio),
      met: Number.isNaN(ratio) ? undefined : throughputMet,
    },
    {
      benchmark: '1. ack path',
      target: 'peak RSS < 250 MB',
      measured: local ? formatMegabytes(local.peakRssBytes) : '?',
      met: rssMet,
    },
  ]);
}

runMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '1' },
      only: { type: 'string', default: '' },
    },
  });
  await runAckPath({
    durationSeconds: Number(values.duration),
    warmupSeconds: Number(values.warmup),
    connections: Number(values.connections),
    rounds: Number(values.rounds),
    only: values.only.split(',').filter((key) => key !== ''),
  });
});
