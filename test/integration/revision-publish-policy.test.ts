/**
 * The `publish` revision policy, end to end on the local pipeline: a second partial refund reaches the
 * bus at once as its own canonical event. Its own file: the ingest handler reads the policy from its
 * environment at cold start, and each test file runs in its own process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { contentSha256 } from '../../functions/shared/ipn/content-hash.ts';
import { ipnJson, postSignedIpn, RawNumber, TEST_SECRET } from '../helpers/ipn.ts';

let pipeline: LocalPipeline;
let dataDir: string;

beforeAll(async () => {
  process.env.OKEPAY_REVISION_POLICY = 'publish';
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-publish-policy-'));
  pipeline = await startLocalPipeline({ port: 0, dataDir, secrets: [TEST_SECRET], print: () => {} });
});

afterAll(async () => {
  await pipeline.stop();
  delete process.env.OKEPAY_REVISION_POLICY;
  rmSync(dataDir, { recursive: true, force: true });
});

const post = async (body: string) => {
  const response = await postSignedIpn(pipeline.endpoints.ipnUrl, body);
  return { status: response.status, body: (await response.json()) as unknown };
};

it('publishes a second partial refund at once, with revision 2 and an eventId of its own', async () => {
  const refund = (amount: string) =>
    ipnJson({ event: 'payment.refunded', payment_id: 'pay_publish_policy', amount: new RawNumber(amount) });
  const second = refund('25.00');
  expect(await post(refund('10.00'))).toEqual({ status: 200, body: { status: 'accepted' } });
  expect(await post(second)).toMatchObject({
    status: 200,
    body: { status: 'revision', revision: 2, held: false },
  });

  const delivered = await pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string; revision?: number }).paymentId === 'pay_publish_policy' &&
      (event.detail as { revision?: number }).revision === 2,
    10_000,
  );
  const detail = delivered.detail as { eventId: string; amount: { decimal: string } };
  expect(detail.amount.decimal).toBe('25.00');
  expect(detail.eventId).toBe(eventIdFor('pay_publish_policy', 'payment.refunded', contentSha256(second)));
  const first = await pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string; revision?: number }).paymentId === 'pay_publish_policy' &&
      (event.detail as { revision?: number }).revision === 1,
    10_000,
  );
  expect((first.detail as { eventId: string }).eventId).toBe(
    eventIdFor('pay_publish_policy', 'payment.refunded'),
  );
});
