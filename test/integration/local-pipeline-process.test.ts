/**
 * The local pipeline as a user runs it: `npm start` in a child process, on a free port, with a
 * temporary data directory and a rule whose http target this test serves. Events go in through the
 * CLI (`okepay send`) and over HTTP; the process is killed with SIGKILL mid-stream and restarted, and
 * every event that was answered 2xx must reach the target.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEndpoints } from '../../functions/local/pipeline.ts';
import { ipnJson, sign, TEST_SECRET } from '../helpers/ipn.ts';

const root = join(import.meta.dirname, '../..');
const run = promisify(execFile);
let dataDir: string;
let rulesDir: string;
let target: Server;
let targetUrl: string;
/** Envelopes the http target received, in order. */
const received: { detail: { paymentId: string; eventId: string } }[] = [];
const children: ChildProcess[] = [];
const env = { ...process.env, OKEPAY_WEBHOOK_SECRETS: TEST_SECRET, OKEPAY_DATA_DIR: '' };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-process-'));
  rulesDir = join(dataDir, 'rules');
  mkdirSync(rulesDir);
  env.OKEPAY_DATA_DIR = dataDir;
  target = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString()));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  writeFileSync(
    join(rulesDir, 'all-payments.json'),
    JSON.stringify({
      name: 'all-payments-to-test',
      description: 'every okePay event, to the test',
      eventPattern: { source: ['okepay'] },
      targets: [{ type: 'http', url: targetUrl }],
    }),
  );
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await new Promise((resolve) => target.close(resolve));
  if (process.env.KEEP_DATA) console.log('data dir', dataDir);
  else rmSync(dataDir, { recursive: true, force: true });
});

const endpointsFile = () => join(dataDir, 'endpoints.json');

/** Starts `npm start` and resolves with the endpoints once the new process wrote them. */
async function startPipeline(): Promise<{
  child: ChildProcess;
  endpoints: LocalEndpoints;
  output: () => string;
}> {
  const before = (() => {
    try {
      return statSync(endpointsFile()).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const child = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, '--rules', rulesDir], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  for (let i = 0; i < 300; i++) {
    if (output.includes('Try it:')) {
      const endpoints = JSON.parse(readFileSync(endpointsFile(), 'utf8')) as LocalEndpoints;
      if (statSync(endpointsFile()).mtimeMs > before) return { child, endpoints, output: () => output };
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`npm start did not come up:\n${output}`);
}

async function post(url: string, body: string): Promise<number | 'no answer'> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-okepay-signature': sign(body, { timestamp: Math.floor(Date.now() / 1000) }),
      },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 'no answer';
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const deliveriesOf = (paymentId: string) => received.filter((event) => event.detail.paymentId === paymentId);

describe('npm start', () => {
  it('delivers CLI-sent events once each, ignores duplicates, and loses nothing acknowledged across a kill -9', async () => {
    const first = await startPipeline();
    expect(first.output()).toContain(`IPN endpoint    POST ${first.endpoints.ipnUrl}`);
    expect(first.output()).toContain('all-payments-to-test [http]');

    // Two events through the CLI, as a user would.
    for (const paymentId of ['pay_cli_1', 'pay_cli_2']) {
      const { stdout } = await run(
        'node',
        [
          'bin/okepay.js',
          'send',
          '--type',
          'payment.succeeded',
          '--payment-id',
          paymentId,
          '--order-ref',
          'ORDER-X',
          '--occurred-at',
          '2026-05-10T12:46:52Z',
        ],
        { cwd: root, env },
      );
      expect(stdout).toContain('200 {"status":"accepted"}');
    }
    await waitFor(
      () => deliveriesOf('pay_cli_1').length + deliveriesOf('pay_cli_2').length === 2,
      10_000,
      'CLI events',
    );

    // The same IPN again (same content) after it was published: answered duplicate, no second delivery.
    const { stdout: dup } = await run(
      'node',
      [
        'bin/okepay.js',
        'send',
        '--type',
        'payment.succeeded',
        '--payment-id',
        'pay_cli_1',
        '--order-ref',
        'ORDER-X',
        '--occurred-at',
        '2026-05-10T12:46:52Z',
      ],
      { cwd: root, env },
    ).catch((error: { stdout: string }) => error);
    expect(dup).toMatch(/200 \{"status":"duplicate"\}/);

    // A stream of events, with SIGKILL in the middle of it.
    const acknowledged = new Set<string>();
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 80; i++) {
      const paymentId = `pay_stream_${i}`;
      sent.push(
        post(first.endpoints.ipnUrl, ipnJson({ payment_id: paymentId })).then((status) => {
          if (status === 200) acknowledged.add(paymentId);
        }),
      );
      if (i === 40) process.kill(first.endpoints.pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(sent);
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(acknowledged.size).toBeLessThan(80);

    const second = await startPipeline();
    await waitFor(
      () => [...acknowledged].every((paymentId) => deliveriesOf(paymentId).length >= 1),
      30_000,
      'every acknowledged event to be delivered after the restart',
    );
    const duplicates = [...acknowledged].filter((paymentId) => deliveriesOf(paymentId).length > 1);
    for (const paymentId of duplicates) {
      // A duplicate can follow a kill between PutEvents and marking published; it carries the same eventId.
      expect(new Set(deliveriesOf(paymentId).map((event) => event.detail.eventId)).size).toBe(1);
    }
    console.log(
      `kill -9 run: ${acknowledged.size}/80 acknowledged before the kill, all delivered; ${duplicates.length} delivered twice`,
    );
    expect(deliveriesOf('pay_cli_1')).toHaveLength(1);

    // Events never acknowledged are not invented.
    const paymentIds = new Set(received.map((event) => event.detail.paymentId));
    for (const paymentId of paymentIds) expect(paymentId).toMatch(/^pay_(cli_[12]|stream_\d+)$/);

    // SIGTERM stops it cleanly.
    const exited = new Promise<number | null>((resolve) => second.child.once('exit', resolve));
    process.kill(second.endpoints.pid, 'SIGTERM');
    await exited;
    expect(second.output()).toContain('stopped');
  });
});
