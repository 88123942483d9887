/**
 * The local pipeline keeps its latest 401s in memory with the doctor's diagnosis, prints one line per
 * refusal, and still writes nothing to the table for them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import type { SignatureFailure } from '../../functions/local/recent-signature-failures.ts';
import { OTHER_SECRET, sign, TEST_SECRET } from '../helpers/ipn.ts';

let pipeline: LocalPipeline;
let dataDir: string;
const printed: string[] = [];
const streamed: SignatureFailure[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-signature-failures-'));
  pipeline = await startLocalPipeline({
    port: 0,
    dataDir,
    secrets: [TEST_SECRET],
    sweepIntervalMs: 0,
    print: (line) => printed.push(line),
  });
  pipeline.signatureFailures.onAdd((failure) => streamed.push(failure));
});

afterAll(async () => {
  await pipeline?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** What `okepay send` posts: 2-space JSON with the amount written with two decimals. */
function ipnBody(paymentId: string): string {
  return `{
  "event": "payment.succeeded",
  "payment_id": "${paymentId}",
  "order_ref": "ORDER-${paymentId}",
  "amount": 129.90,
  "currency": "EUR",
  "occurred_at": "2026-05-10T12:46:52Z"
}`;
}

async function post(body: string, signature: string) {
  const response = await fetch(pipeline.endpoints.ipnUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-okepay-signature': signature },
    body,
  });
  return { status: response.status, body: (await response.json()) as { reason?: string } };
}

async function tableItemCount(): Promise<number> {
  const client = new DynamoDBClient({
    region: pipeline.endpoints.region,
    endpoint: pipeline.endpoints.dynamodb,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const scan = await client.send(
      new ScanCommand({ TableName: pipeline.endpoints.tableName, ConsistentRead: true }),
    );
    return scan.Count ?? 0;
  } finally {
    client.destroy();
  }
}

describe('the local pipeline remembers its 401s with a diagnosis', () => {
  it.each([
    {
      name: 'signed with the wrong secret',
      body: ipnBody('pay_wrong_secret'),
      signature: () => sign(ipnBody('pay_wrong_secret'), { secret: OTHER_SECRET, timestamp: nowSeconds() }),
      reason: 'no_matching_signature',
      verdict: 'wrong_secret',
      line: /IPN refused \(401, wrong_secret\): No configured secret verifies this signature/,
    },
    {
      name: 'a body re-serialised after signing',
      body: JSON.stringify(JSON.parse(ipnBody('pay_reserialised'))),
      signature: () => sign(ipnBody('pay_reserialised'), { timestamp: nowSeconds() }),
      reason: 'no_matching_signature',
      verdict: 'body_reserialised',
      line: /IPN refused \(401, body_reserialised\): .*verify over the raw bytes/,
    },
    {
      name: 'a stale timestamp',
      body: ipnBody('pay_stale'),
      signature: () => sign(ipnBody('pay_stale'), { timestamp: nowSeconds() - 3_600 }),
      reason: 'timestamp_outside_tolerance',
      verdict: 'clock_skew',
      line: /IPN refused \(401, clock_skew\): The signature is valid but its timestamp is 1 h in the past/,
    },
  ])('$name', async ({ body, signature, reason, verdict, line }) => {
    const header = signature();

    const answer = await post(body, header);

    expect(answer).toMatchObject({ status: 401, body: { reason } });
    const [latest] = pipeline.signatureFailures.list();
    expect(latest).toMatchObject({
      method: 'POST',
      path: '/okepay/ipn',
      body,
      bodyBytes: Buffer.byteLength(body),
      response: { status: 401, reason },
      diagnosis: { verdict },
    });
    expect(latest?.headers['x-okepay-signature']).toBe(header);
    expect(streamed.at(-1)).toEqual(latest);
    expect(printed.some((printedLine) => line.test(printedLine))).toBe(true);
  });

  it('names which re-serialisation matched', () => {
    const failure = pipeline.signatureFailures
      .list()
      .find((item) => item.diagnosis.verdict === 'body_reserialised');

    expect(failure?.diagnosis.match?.bodyVariant?.id).toBe('json-indent-2+amount-2dp');
  });

  it('stores nothing in the table for them, and shows no secret', async () => {
    expect(pipeline.signatureFailures.list()).toHaveLength(3);
    expect(await tableItemCount()).toBe(0);

    const shown = JSON.stringify(pipeline.signatureFailures.list()) + printed.join('\n');
    expect(shown).not.toContain(TEST_SECRET);
    expect(shown).not.toContain(OTHER_SECRET);
  });

  it('does not record an accepted IPN', async () => {
    const body = ipnBody('pay_accepted');

    expect((await post(body, sign(body, { timestamp: nowSeconds() }))).status).toBe(200);
    expect(pipeline.signatureFailures.list()).toHaveLength(3);
    expect(await tableItemCount()).toBeGreaterThan(0);
  });
});
