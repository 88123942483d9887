/**
 * Ordering signals end to end on the local pipeline: a refund that arrives before its success (a retry
 * storm) makes the success's canonical event say it is out of order and that the payment's latest known
 * state is the refund.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { paymentEventJsonSchema } from '../../functions/shared/canonical/artifacts.ts';
import { ipnJson, postSignedIpn, TEST_SECRET } from '../helpers/ipn.ts';

let pipeline: LocalPipeline;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-ordering-'));
  pipeline = await startLocalPipeline({ port: 0, dataDir, secrets: [TEST_SECRET], print: () => {} });
});

afterAll(async () => {
  await pipeline.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (body: string) => postSignedIpn(pipeline.endpoints.ipnUrl, body);

const published = (type: string) =>
  pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string }).paymentId === 'pay_storm' && event['detail-type'] === type,
    10_000,
  );

it('marks a success that arrives after its refund as out of order, with the refund as the latest state', async () => {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  const validate = ajv.compile(paymentEventJsonSchema());

  await post(
    ipnJson({ payment_id: 'pay_storm', event: 'payment.refunded', occurred_at: '2026-05-10T12:30:00Z' }),
  );
  const refund = await published('payment.refunded');
  expect(refund.detail).toMatchObject({
    ordering: { outOfOrder: false, latest: { type: 'payment.refunded', status: 'Reversed' }, basedOn: 1 },
  });

  await post(
    ipnJson({ payment_id: 'pay_storm', event: 'payment.succeeded', occurred_at: '2026-05-10T12:00:00Z' }),
  );
  const success = await published('payment.succeeded');
  expect(success.detail).toMatchObject({
    status: 'Completed',
    ordering: {
      outOfOrder: true,
      latest: {
        type: 'payment.refunded',
        revision: 1,
        status: 'Reversed',
        occurredAt: '2026-05-10T12:30:00.000Z',
      },
      basedOn: 2,
    },
  });
  expect(validate(success)).toBe(true);
});
