/**
 * The local event bus hands targets the detail's numbers as the publisher wrote them, as EventBridge
 * does, while its rules still match on parsed numbers.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventEnvelope, envelopeJson } from '../../functions/local/event-bus-put-events.ts';
import { LocalEventBridge } from '../../functions/local/event-bus-service.ts';
import { TargetDelivery } from '../../functions/local/rule-targets.ts';
import { toCanonicalEvent } from '../../functions/shared/canonical/normalise.ts';
import type { LocalTarget } from '../../functions/shared/rules/rule-file.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { ipnJson, RawNumber } from '../helpers/ipn.ts';

const TRANSACTION_ID = '9994456683762355345868';
const FEE = '0.1000000000000000000001';

/** The canonical entry of an IPN carrying okePay's Transaction ID example as a JSON number. */
function canonicalEntry() {
  const body = Buffer.from(
    ipnJson({
      amount: new RawNumber('1299.90'),
      transaction_id: new RawNumber(TRANSACTION_ID),
      fees: [new RawNumber(FEE)],
    }),
  );
  const stored: StoredEvent = {
    paymentId: 'pay_test_0001',
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

function busWithRule() {
  return new LocalEventBridge<LocalTarget>({
    region: 'eu-west-1',
    accountId: '123456789012',
    rules: [
      {
        name: 'large-eur-payments',
        eventPattern: { detail: { amount: { number: [{ numeric: ['>', 1000] }] } } },
        targets: [{ type: 'file', path: 'large.jsonl' }, { type: 'log' }],
      },
    ],
  });
}

/** Puts one entry with `detail` and returns the event the bus accepted. */
function put(bus: LocalEventBridge<LocalTarget>, detail: string): EventEnvelope {
  bus.handle('PutEvents', {
    Entries: [{ Source: 'okepay', DetailType: 'payment.succeeded', Detail: detail }],
  });
  const event = bus.events.at(-1);
  if (event === undefined) throw new Error('The bus accepted no event');
  return event;
}

describe('local event bus: numbers in the detail', () => {
  it('keeps the digits of every number in the envelope JSON, and still matches on parsed numbers', () => {
    const bus = busWithRule();
    const entry = canonicalEntry();

    const event = put(bus, entry.detail);

    expect(bus.matches.map((match) => match.rule)).toEqual(['large-eur-payments']);
    const json = envelopeJson(event);
    expect(json).toContain(`"transaction_id":${TRANSACTION_ID}`);
    expect(json).toContain(`"fees":[${FEE}]`);
    expect(json).toContain('"amount":1299.90');
    expect(json).toContain(`"detail":${entry.detail}}`);
    expect(JSON.parse(json)).toEqual(event);
  });

  it('writes a shallow copy of the envelope exactly too', () => {
    const event = put(busWithRule(), canonicalEntry().detail);
    expect(envelopeJson({ ...event, id: 'copy' })).toContain(`"transaction_id":${TRANSACTION_ID}`);
  });

  it('writes a pretty-printed Detail on one line, numbers as sent', () => {
    const event = put(busWithRule(), `{\n  "amount": { "number": 1500.10 },\n  "id": ${TRANSACTION_ID}\n}`);
    expect(envelopeJson(event)).toMatch(
      /"detail":\{"amount":\{"number":1500\.10\},"id":9994456683762355345868\}\}$/,
    );
  });

  it('keeps the last value of a repeated key, as the rules saw it', () => {
    const bus = busWithRule();
    const event = put(bus, '{"amount":{"number":5},"amount":{"number":2000.50}}');
    expect(bus.matches).toHaveLength(1);
    expect(envelopeJson(event)).toContain('"detail":{"amount":{"number":2000.50}}');
  });

  it('writes envelopes it did not build with JSON.stringify', () => {
    const envelope = {
      version: '0' as const,
      id: 'x',
      'detail-type': 't',
      source: 's',
      account: '1',
      time: '2026-05-10T12:46:52Z',
      region: 'eu-west-1',
      resources: [],
      detail: { n: 1.5 },
    };
    expect(envelopeJson(envelope)).toBe(JSON.stringify(envelope));
  });
});

describe('local rule targets: numbers in what they deliver', () => {
  it('the file and log targets get the digits the publisher sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okepay-targets-'));
    const printed: string[] = [];
    const deliveries = new TargetDelivery({ baseDir: dir, print: (line) => printed.push(line) });
    const bus = busWithRule();
    bus.onMatch((match) => deliveries.deliver(match.rule, match.targets, match.event));

    put(bus, canonicalEntry().detail);
    await deliveries.drain();

    const line = readFileSync(join(dir, 'large.jsonl'), 'utf8').trim();
    expect(line).toContain(`"transaction_id":${TRANSACTION_ID}`);
    expect(line).toContain(`"fees":[${FEE}]`);
    expect(printed).toEqual([`[rule large-eur-payments] ${line}`]);
  });
});
