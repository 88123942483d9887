/**
 * Start-up time of the local pipeline (issue 5): `okepay serve` as a user starts it, from spawning the
 * process to the moment it prints that it is ready (servers up, table and queues provisioned, handlers
 * loaded, endpoints.json written), with an empty data directory (first start) and with the data of a
 * previous run (restart). Target: under 2 s on this machine.
 *
 *   npx tsx bench/startup.ts [--runs 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runMain } from './lib/main.ts';
import { formatNumber, median, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const ROOT = join(import.meta.dirname, '..');
const TARGET_MS = 2_000;

/** Spawns `okepay serve` and resolves with the milliseconds until its ready line, then stops it. */
function timeStart(dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, ['bin/okepay.js', 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`okepay serve was not ready after 30 s:\n${output}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Try it:')) {
        const elapsed = performance.now() - startedAt;
        clearTimeout(timer);
        child.once('exit', () => resolve(elapsed));
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const firstStarts: number[] = [];
  const restarts: number[] = [];
  for (let run = 0; run < runs; run++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'okepay-bench-startup-'));
    try {
      firstStarts.push(await timeStart(dataDir));
      restarts.push(await timeStart(dataDir));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const rows = [
    ['first start (empty data directory)', firstStarts],
    ['restart (data of the previous run)', restarts],
  ] as const;
  printTable(
    `Local pipeline start-up: spawn to ready, median of ${runs}`,
    ['start', 'median', 'slowest', `target < ${TARGET_MS / 1000} s`],
    rows.map(([name, times]) => [
      name,
      `${formatNumber(median(times))} ms`,
      `${formatNumber(Math.max(...times))} ms`,
      verdict(median(times) < TARGET_MS),
    ]),
    [
      'Spawn of `node bin/okepay.js serve` to its "Try it:" line: tsx loading the CLI, dynalite, local-aws-sqs, the',
      'local EventBridge endpoint, provisioning, both handlers imported, endpoints.json written.',
    ],
  );
  recordTargets(
    rows.map(([name, times]) => ({
      benchmark: 'startup',
      target: `${name} < 2 s`,
      measured: `${formatNumber(median(times))} ms`,
      met: median(times) < TARGET_MS,
    })),
  );
}

runMain(import.meta.url, main);
