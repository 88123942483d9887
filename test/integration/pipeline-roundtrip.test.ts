/**
 * End to end in one process, with the real handlers and adapters and no mocks on the path:
 * signed IPN → local IPN endpoint (ingest handler) → dynalite + local-aws-sqs → queue poller →
 * consumer handler → local EventBridge endpoint → rules.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { paymentEventJsonSchema, sampleEnvelope } from '../../functions/shared/canonical/artifacts.ts';
import type { PaymentEventEnvelope } from '../../functions/shared/canonical/payment-event.ts';
import { ipnJson, ipnSamples, sign, TEST_SECRET } from '../helpers/ipn.ts';

let pipeline: LocalPipeline;
let dataDir: string;
const printed: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-roundtrip-'));
  pipeline = await startLocalPipeline({
    port: 0,
    dataDir,
    secrets: [TEST_SECRET],
    visibilityTimeoutSeconds: 1,
    print: (line) => printed.push(line),
  });
});

afterAll(async () => {
  await pipeline.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(body: Buffer | string) {
  const response = await fetch(pipeline.endpoints.ipnUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-okepay-signature': sign(body, { timestamp: Math.floor(Date.now() / 1000) }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

const eventsFor = (paymentId: string, type?: string) =>
  pipeline.bus.events.filter(
    (event) =>
      (event.detail as { paymentId?: string }).paymentId === paymentId &&
      (type === undefined || event['detail-type'] === type),
  );

const waitForEvent = (paymentId: string, type: string) =>
  pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string }).paymentId === paymentId && event['detail-type'] === type,
    10_000,
  );

/** Long enough for a redelivered or retried message to have been consumed if it were to be published. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

describe('signed IPN in, exactly one canonical event out', () => {
  const validate = (() => {
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    return ajv.compile(paymentEventJsonSchema());
  })();

  it.each([...ipnSamples().entries()])('round-trips the sample %s', async (name, body) => {
    const payload = JSON.parse(body.toString()) as { payment_id: string; event: string };

    expect(await post(body)).toEqual({ status: 200, body: { status: 'accepted' } });
    const delivered = await waitForEvent(payload.payment_id, payload.event);

    expect(validate(delivered)).toBe(true);
    const expected = sampleEnvelope(name, body);
    const detail = delivered.detail as PaymentEventEnvelope['detail'];
    // The samples share payment ids, so what else is stored for the payment (ordering) depends on the
    // order the samples are sent in: compared apart.
    expect({ ...detail, receivedAt: 'x', ordering: undefined }).toEqual({
      ...expected.detail,
      receivedAt: 'x',
      ordering: undefined,
    });
    expect(detail.ordering?.basedOn).toBeGreaterThanOrEqual(1);
    expect(delivered).toMatchObject({ source: 'okepay', 'detail-type': payload.event, time: expected.time });
    await settle();
    expect(eventsFor(payload.payment_id, payload.event)).toHaveLength(1);
  });

  it('runs the rules: the chargeback over 1000 EUR reaches two rules, and is appended to bus.jsonl', async () => {
    const chargeback = pipeline.bus.matches.filter(
      (match) => (match.event.detail as { paymentId?: string }).paymentId === 'pay_9f02c1d3aa',
    );
    expect(chargeback.map((match) => match.rule).sort()).toEqual([
      'large-eur-payments',
      'refunds-and-chargebacks',
    ]);
    const lines = readFileSync(join(dataDir, 'bus.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(
      pipeline.bus.events.map((event) => event.id),
    );
    expect(printed.some((line) => line.startsWith('[rule large-eur-payments] '))).toBe(true);
  });

  it('does not publish a redelivery of a published IPN', async () => {
    const body = ipnJson({ payment_id: 'pay_redelivered_rt' });
    await post(body);
    await waitForEvent('pay_redelivered_rt', 'payment.succeeded');

    expect(await post(body)).toEqual({ status: 200, body: { status: 'duplicate' } });
    await settle();
    expect(eventsFor('pay_redelivered_rt')).toHaveLength(1);
  });

  it('retries only the entries PutEvents failed, and publishes each event once', async () => {
    let failuresLeft = 2;
    pipeline.bus.setFaults({
      failEntry: (entry) => {
        if (entry.Detail?.includes('"pay_partial_b"') && failuresLeft > 0) {
          failuresLeft -= 1;
          return true;
        }
        return false;
      },
    });
    try {
      const ids = ['pay_partial_a', 'pay_partial_b', 'pay_partial_c'];
      await Promise.all(ids.map((id) => post(ipnJson({ payment_id: id }))));
      for (const id of ids) await waitForEvent(id, 'payment.succeeded');
      await settle();
      for (const id of ids) expect(eventsFor(id)).toHaveLength(1);
      expect(failuresLeft).toBe(0);
    } finally {
      pipeline.bus.setFaults({});
    }
  });

  it('publishes after the bus throttles whole requests for a while', async () => {
    pipeline.bus.setFaults({ throttleRequests: 4 });
    try {
      await post(ipnJson({ payment_id: 'pay_throttled' }));
      await waitForEvent('pay_throttled', 'payment.succeeded');
      await settle();
      expect(eventsFor('pay_throttled')).toHaveLength(1);
    } finally {
      pipeline.bus.setFaults({});
    }
  });
});
