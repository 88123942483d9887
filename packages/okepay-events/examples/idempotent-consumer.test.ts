/**
 * The consumer's own unit test, with events from `okepay-events/testing` (node:test here; the factory
 * works the same under vitest or jest).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SQSRecord } from 'aws-lambda';
import type { PaymentEvent } from 'okepay-events';
import { makePaymentEvent } from 'okepay-events/testing';
import { createRecordHandler, type ProcessedEvents } from './idempotent-consumer.js';

function inMemoryProcessedEvents(): ProcessedEvents {
  const states = new Map<string, 'in_progress' | 'done'>();
  return {
    claim: async (eventId) => {
      if (states.get(eventId) === 'done') return 'done';
      states.set(eventId, 'in_progress');
      return 'claimed';
    },
    complete: async (eventId) => void states.set(eventId, 'done'),
    release: async (eventId) => void states.delete(eventId),
  };
}

/** The record an EventBridge → SQS target delivers: the event as the JSON body. */
function sqsRecord(event: PaymentEvent, messageId: string): SQSRecord {
  return { messageId, body: JSON.stringify(event), eventSource: 'aws:sqs' } as SQSRecord;
}

test('fulfils an order once, however often and however its event arrives', async () => {
  const fulfilled: string[] = [];
  const handle = createRecordHandler({
    processed: inMemoryProcessedEvents(),
    fulfilOrder: async (event) => void fulfilled.push(event.detail.orderRef),
  });
  const live = makePaymentEvent({ type: 'payment.succeeded', orderRef: 'ORDER-1', amount: '25.00' });
  const replayed = makePaymentEvent({
    type: 'payment.succeeded',
    orderRef: 'ORDER-1',
    amount: '25.00',
    replay: { replayId: 'rp-20260601T000000Z-1a2b3c4d', requestedAt: '2026-06-01T00:00:00.000Z' },
  });

  await handle(sqsRecord(live, 'm1'));
  await handle(sqsRecord(live, 'm2'));
  await handle(sqsRecord(replayed, 'm3'));
  await handle(sqsRecord(makePaymentEvent({ type: 'payment.refunded', orderRef: 'ORDER-1' }), 'm4'));

  assert.deepEqual(fulfilled, ['ORDER-1']);
});

test('lets a failed fulfilment be retried', async () => {
  let attempts = 0;
  const handle = createRecordHandler({
    processed: inMemoryProcessedEvents(),
    fulfilOrder: async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('warehouse unavailable');
    },
  });
  const record = sqsRecord(makePaymentEvent({ type: 'payment.succeeded' }), 'm1');

  await assert.rejects(handle(record), /warehouse unavailable/);
  await handle(record);

  assert.equal(attempts, 2);
});
