/**
 * `okepay replay --subscriber NAME` on the local pipeline, with two subscriptions built by the same
 * pattern function as the CDK construct: the replayed events reach the named one only.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runReplayCommand } from '../../bin/commands/replay.ts';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { subscriptionPattern } from '../../functions/shared/rules/subscription-pattern.ts';
import { ipnJson, postSignedIpn, TEST_SECRET } from '../helpers/ipn.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

let pipeline: LocalPipeline;
let dataDir: string;
const SUBSCRIBERS = ['ledger', 'crm'];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-subscriber-replay-'));
  const rulesDir = join(dataDir, 'rules');
  mkdirSync(rulesDir);
  for (const name of SUBSCRIBERS) {
    writeFileSync(
      join(rulesDir, `${name}.json`),
      JSON.stringify({
        name,
        description: `subscriber ${name}: live events and replays`,
        eventPattern: subscriptionPattern({ name, deliver: 'both' }),
        targets: [{ type: 'file', path: `${name}.jsonl` }],
      }),
    );
  }
  pipeline = await startLocalPipeline({
    port: 0,
    dataDir,
    ruleDirs: [rulesDir],
    secrets: [TEST_SECRET],
    print: () => {},
  });
});

afterAll(async () => {
  await pipeline.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const delivered = (name: string) => {
  const file = join(dataDir, `${name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { detail: { paymentId: string; replay?: { subscriber?: string } } });
};

const waitUntil = async (test: () => boolean) => {
  for (let attempt = 0; attempt < 100 && !test(); attempt++) await new Promise((r) => setTimeout(r, 100));
  return test();
};

it('replays to the named subscriber only; a replay without --subscriber reaches both', async () => {
  const body = ipnJson({ payment_id: 'pay_for_ledger' });
  const response = await postSignedIpn(pipeline.endpoints.ipnUrl, body);
  expect(response.status).toBe(200);
  expect(await waitUntil(() => SUBSCRIBERS.every((name) => delivered(name).length === 1))).toBe(true);

  const terminal = recordingTerminal();
  const code = await runReplayCommand(
    ['--local', '--data-dir', dataDir, '--payment-id', 'pay_for_ledger', '--subscriber', 'ledger'],
    terminal,
  );
  expect(code).toBe(0);
  expect(await waitUntil(() => delivered('ledger').length === 2)).toBe(true);
  expect(delivered('ledger')[1]?.detail.replay?.subscriber).toBe('ledger');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(delivered('crm')).toHaveLength(1);

  await runReplayCommand(
    ['--local', '--data-dir', dataDir, '--payment-id', 'pay_for_ledger'],
    recordingTerminal(),
  );
  expect(await waitUntil(() => delivered('ledger').length === 3 && delivered('crm').length === 2)).toBe(true);
});

it('refuses a subscriber name that no construct could have', async () => {
  await expect(
    runReplayCommand(
      ['--local', '--data-dir', dataDir, '--payment-id', 'pay_for_ledger', '--subscriber', 'no spaces'],
      recordingTerminal(),
    ),
  ).rejects.toThrow(/--subscriber: must be a subscription name/);
});
