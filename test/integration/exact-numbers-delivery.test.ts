/**
 * A canonical event published with the real SDK to the local EventBridge endpoint reaches an http
 * target, and its outbox, with every number as okePay sent it; so does its redelivery after a crash.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import { TargetDelivery } from '../../functions/local/rule-targets.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { toCanonicalEvent } from '../../functions/shared/canonical/normalise.ts';
import type { LocalTarget } from '../../functions/shared/rules/rule-file.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { ipnJson, RawNumber } from '../helpers/ipn.ts';

const TRANSACTION_ID = '9994456683762355345868';
const RATE = '1.123456789012345678901234567890';

/** Receives POSTs on 127.0.0.1; answers each with the next status of `statuses` (then 200). */
async function startReceiver(statuses: number[] = []) {
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function canonicalEntry() {
  const body = Buffer.from(
    ipnJson({
      payment_id: 'pay_exact_numbers',
      amount: new RawNumber('5400.00'),
      currency: 'JPY',
      transaction_id: new RawNumber(TRANSACTION_ID),
      fx: { rate: new RawNumber(RATE) },
    }),
  );
  const stored: StoredEvent = {
    paymentId: 'pay_exact_numbers',
    event: 'payment.succeeded',
    orderRef: 'ORDER-1',
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: 1_778_417_220,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
  return toCanonicalEvent(stored, { source: 'okepay' }).entry;
}

function expectExactNumbers(json: string) {
  expect(json).toContain(`"transaction_id":${TRANSACTION_ID}`);
  expect(json).toContain(`"rate":${RATE}`);
  expect(json).toContain('"amount":5400.00');
  expect(json).toContain('"decimal":"5400"');
}

let bus: EventBusServer<LocalTarget>;
let client: EventBridgeClient;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  bus = await startEventBusServer<LocalTarget>({
    buses: ['okepay-exact'],
    rules: [
      {
        name: 'all-payments',
        eventBusName: 'okepay-exact',
        eventPattern: { source: ['okepay'] },
        targets: [{ type: 'http', url: receiver.url }],
      },
    ],
  });
  client = new EventBridgeClient({
    region: 'us-east-1',
    endpoint: bus.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  client.destroy();
  await bus.close();
  await receiver.close();
});

describe('numbers on their way from PutEvents to targets', () => {
  it('posts the envelope to an http target, and writes its outbox line, with the digits okePay sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okepay-exact-'));
    const deliveries = new TargetDelivery({ baseDir: dir });
    const off = bus.onMatch((match) => deliveries.deliver(match.rule, match.targets, match.event));

    const [result] = await new EventBridgeEventBus(client, 'okepay-exact').putEvents([canonicalEntry()]);
    await deliveries.drain();
    off();

    expect(result?.ok).toBe(true);
    expect(receiver.bodies).toHaveLength(1);
    expectExactNumbers(receiver.bodies[0] ?? '');
    expectExactNumbers(readFileSync(join(dir, 'outbox.jsonl'), 'utf8'));
  });

  it('redelivers an unfinished http delivery after a crash with the same digits', async () => {
    const failing = await startReceiver([500]);
    const dir = mkdtempSync(join(tmpdir(), 'okepay-exact-'));
    try {
      const crashed = new TargetDelivery({ baseDir: dir, maxHttpAttempts: 1, onDeliveryFailure: () => {} });
      const event = await new Promise<Parameters<TargetDelivery['deliver']>[2]>((resolve) => {
        const off = bus.onEvent((envelope) => {
          off();
          resolve(envelope);
        });
        void new EventBridgeEventBus(client, 'okepay-exact').putEvents([canonicalEntry()]);
      });
      crashed.deliver('all-payments', [{ type: 'http', url: failing.url }], event);
      await crashed.drain();

      const restarted = new TargetDelivery({ baseDir: dir });
      expect(restarted.recover()).toBe(1);
      await restarted.drain();

      expect(failing.bodies).toHaveLength(2);
      expect(failing.bodies[1]).toBe(failing.bodies[0]);
      expectExactNumbers(failing.bodies[1] ?? '');
    } finally {
      await failing.close();
    }
  });
});
