/**
 * The source allowlist through the local pipeline: its API Gateway adapter fills
 * `requestContext.http.sourceIp` from the socket, as API Gateway does from the connection, so a request
 * from another loopback address (127.0.0.2) is a caller outside the list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { ipnJson, sign, TEST_SECRET } from '../helpers/ipn.ts';

let pipeline: LocalPipeline;
let dataDir: string;
const previous = process.env.OKEPAY_ALLOWED_SOURCE_CIDRS;

beforeAll(async () => {
  // Read by the ingest handler at its import, which the pipeline does at start.
  process.env.OKEPAY_ALLOWED_SOURCE_CIDRS = '127.0.0.1/32';
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-allowlist-'));
  pipeline = await startLocalPipeline({
    port: 0,
    dataDir,
    secrets: [TEST_SECRET],
    sweepIntervalMs: 0,
    print: () => undefined,
  });
});

afterAll(async () => {
  await pipeline?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (previous === undefined) delete process.env.OKEPAY_ALLOWED_SOURCE_CIDRS;
  else process.env.OKEPAY_ALLOWED_SOURCE_CIDRS = previous;
});

function post(localAddress: string, body: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      pipeline.endpoints.ipnUrl,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          'x-okepay-signature': sign(body, { timestamp: Math.floor(Date.now() / 1000) }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('the local IPN endpoint with allowedSourceCidrs', () => {
  it('accepts a signed IPN from an allowed address', async () => {
    const response = await post('127.0.0.1', ipnJson({ payment_id: 'pay_allowlist_ok' }));
    expect(response.status).toBe(200);
  });

  it('answers 403 forbidden_source to the same IPN from an address outside the list', async () => {
    const response = await post('127.0.0.2', ipnJson({ payment_id: 'pay_allowlist_refused' }));
    expect(response).toMatchObject({
      status: 403,
      body: { error: 'forbidden_source', message: expect.stringContaining('127.0.0.2') },
    });
  });
});
