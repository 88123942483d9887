/**
 * `npm run bench`: the five benchmarks, one after the other, each in its own node process (the local
 * pipeline reads its configuration once per process, and a fresh process keeps one benchmark's heap
 * and JIT state out of the next one's figures). Each prints its table; a summary of the targets
 * follows. Targets are reported, never asserted: a missed target does not fail the run.
 *
 *   npm run bench                         all five, about 2 minutes on 2 cores
 *   npm run bench -- ack-path cold-start  only these (names: the files in bench/)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMachine, loadLine, machineLine } from './lib/machine.ts';
import { formatNumber, printTable } from './lib/table.ts';
import { TARGETS_FILE_ENV, type TargetVerdict, verdict } from './lib/targets.ts';

const BENCHMARKS = [
  'ack-path',
  'cold-start',
  'handler-cpu',
  'aws-requests',
  'replay-throughput',
  'startup',
  'inspector',
  'batching-window',
] as const;

function runBenchmark(name: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${name}.ts`)], {
      stdio: 'inherit',
      env,
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(`Unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}.`);
    return 2;
  }
  const selected = requested.length > 0 ? requested : [...BENCHMARKS];
  const workDir = mkdtempSync(join(tmpdir(), 'okepay-bench-'));
  const targetsFile = join(workDir, 'targets.jsonl');
  // The AWS SDK warns once per process that Node.js 20 support ends in 2027; it says nothing about
  // the figures, so it is kept out of the tables.
  const env = {
    ...process.env,
    [TARGETS_FILE_ENV]: targetsFile,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };

  console.log(`# okepay-pipeline benchmarks\n\nMachine: ${machineLine(describeMachine())}`);
  console.log(`Load average (1/5/15 min) before: ${loadLine()}\n`);
  const failed: string[] = [];
  const started = performance.now();
  try {
    for (const name of selected) {
      const benchmarkStarted = performance.now();
      const code = await runBenchmark(name, env);
      if (code !== 0) failed.push(name);
      console.log(`(${name}: ${formatNumber((performance.now() - benchmarkStarted) / 1000, 1)} s)\n`);
    }
    let verdicts: TargetVerdict[] = [];
    try {
      verdicts = readFileSync(targetsFile, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as TargetVerdict);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    printTable(
      'Targets',
      ['benchmark', 'target', 'measured', 'verdict'],
      verdicts.map((entry) => [entry.benchmark, entry.target, entry.measured, verdict(entry.met)]),
      [
        `Total time ${formatNumber((performance.now() - started) / 1000, 0)} s. Load average (1/5/15 min) after: ${loadLine()}.`,
        ...(failed.length > 0 ? [`Benchmarks that failed to run: ${failed.join(', ')}.`] : []),
      ],
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
