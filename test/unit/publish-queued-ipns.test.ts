import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PoisonMessageError, PublishFailedError } from '../../functions/consumer/errors.ts';
import {
  type PublishQueuedIpnsDeps,
  publishQueuedIpns,
} from '../../functions/consumer/publish-queued-ipns.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { StoredEventNotFoundError, StoreUnavailableError } from '../../functions/shared/store/errors.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import {
  InMemoryEventBus,
  InMemoryEventStore,
  RecordingLog,
  RecordingMetrics,
} from '../helpers/in-memory.ts';
import { ipnJson, NOW_MS } from '../helpers/ipn.ts';

function storedEvent(paymentId: string, event = 'payment.succeeded'): StoredEvent {
  const body = Buffer.from(ipnJson({ payment_id: paymentId, event }));
  return {
    paymentId,
    event,
    orderRef: 'ORDER-1',
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    signatureTimestamp: NOW_MS / 1000,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
}

const message = (event: StoredEvent, messageId = `m-${event.paymentId}-${event.event}`) => ({
  messageId,
  body: JSON.stringify({
    v: 1,
    paymentId: event.paymentId,
    event: event.event,
    ...(event.revisionHash ? { revisionHash: event.revisionHash } : {}),
    bodySha256: event.bodySha256,
    receivedAt: event.receivedAt,
  }),
});

async function setup(events: StoredEvent[]) {
  const store = new InMemoryEventStore();
  for (const event of events) await store.putIfAbsent(event);
  const bus = new InMemoryEventBus();
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const deps: PublishQueuedIpnsDeps = {
    store,
    bus,
    eventSource: 'okepay',
    now: () => NOW_MS,
    deadline: Number.POSITIVE_INFINITY,
    log,
    metrics,
    sleep: async () => {},
  };
  return { store, bus, log, metrics, deps };
}

describe('publishQueuedIpns', () => {
  it('publishes each stored event once, marks it published and reports its eventId', async () => {
    const events = Array.from({ length: 12 }, (_, i) => storedEvent(`pay_${i}`));
    const { store, bus, deps, metrics } = await setup(events);

    const outcomes = await publishQueuedIpns(
      events.map((event) => message(event)),
      deps,
    );

    expect(bus.requests.map((request) => request.length)).toEqual([10, 2]);
    for (const event of events) {
      expect(outcomes.get(`m-${event.paymentId}-${event.event}`)).toEqual({
        status: 'published',
        eventId: eventIdFor(event.paymentId, event.event),
      });
      expect(store.items.get(`${event.paymentId}/${event.event}`)?.status).toBe('published');
    }
    expect(metrics.count('EventsPublished')).toBe(12);
  });

  it('skips a redelivery of an event already published', async () => {
    const event = storedEvent('pay_1');
    const { bus, deps, metrics } = await setup([event]);
    await publishQueuedIpns([message(event, 'first')], deps);

    const outcomes = await publishQueuedIpns([message(event, 'again')], deps);

    expect(outcomes.get('again')).toEqual({ status: 'already-published' });
    expect(bus.published).toHaveLength(1);
    expect(metrics.count('EventsAlreadyPublished')).toBe(1);
  });

  it('publishes once when the same event is twice in one batch, and both messages succeed', async () => {
    const event = storedEvent('pay_1');
    const { bus, deps } = await setup([event]);
    const outcomes = await publishQueuedIpns([message(event, 'a'), message(event, 'b')], deps);
    expect(bus.published).toHaveLength(1);
    expect(outcomes.get('a')?.status).toBe('published');
    expect(outcomes.get('b')?.status).toBe('published');
  });

  it('retries the entries PutEvents failed, and only those', async () => {
    const events = [storedEvent('pay_a'), storedEvent('pay_b'), storedEvent('pay_c')];
    const { bus, deps } = await setup(events);
    bus.failNext(() => [undefined, 'ThrottlingException', undefined]);

    const outcomes = await publishQueuedIpns(
      events.map((event) => message(event)),
      deps,
    );

    expect([...outcomes.values()].map((outcome) => outcome.status)).toEqual([
      'published',
      'published',
      'published',
    ]);
    expect(bus.requests.map((request) => request.map((entry) => JSON.parse(entry.detail).paymentId))).toEqual(
      [['pay_a', 'pay_b', 'pay_c'], ['pay_b']],
    );
  });

  it('fails only the messages whose entries still failed when the budget ran out; they stay unpublished', async () => {
    const events = [storedEvent('pay_a'), storedEvent('pay_b')];
    const { bus, store, deps } = await setup(events);
    for (let i = 0; i < 20; i++)
      bus.failNext((entries) =>
        entries.map((entry) => (entry.detail.includes('pay_b') ? 'InternalFailure' : undefined)),
      );

    const outcomes = await publishQueuedIpns(
      events.map((event) => message(event)),
      deps,
    );

    expect(outcomes.get('m-pay_a-payment.succeeded')?.status).toBe('published');
    const failed = outcomes.get('m-pay_b-payment.succeeded');
    expect(failed?.status).toBe('failed');
    expect(failed?.status === 'failed' && failed.error).toBeInstanceOf(PublishFailedError);
    expect(store.items.get('pay_b/payment.succeeded')?.status).toBe('received');
  });

  it('fails a message that is not a queued IPN reference, and publishes the others', async () => {
    const event = storedEvent('pay_ok');
    const { bus, deps, log } = await setup([event]);
    const outcomes = await publishQueuedIpns(
      [
        { messageId: 'junk', body: 'not json' },
        { messageId: 'wrong', body: '{"v":2}' },
        message(event, 'ok'),
      ],
      deps,
    );
    for (const id of ['junk', 'wrong']) {
      const outcome = outcomes.get(id);
      expect(outcome?.status === 'failed' && outcome.error).toBeInstanceOf(PoisonMessageError);
    }
    expect(outcomes.get('ok')?.status).toBe('published');
    expect(bus.published).toHaveLength(1);
    expect(log.lines.filter((line) => line.level === 'error' && line.message.includes('DLQ'))).toHaveLength(
      2,
    );
  });

  it('fails a message whose stored event is missing', async () => {
    const { deps } = await setup([]);
    const outcomes = await publishQueuedIpns([message(storedEvent('pay_gone'), 'gone')], deps);
    const outcome = outcomes.get('gone');
    expect(outcome?.status === 'failed' && outcome.error).toBeInstanceOf(StoredEventNotFoundError);
  });

  it('fails a message whose stored body is corrupt, and publishes the others', async () => {
    const corrupt = { ...storedEvent('pay_corrupt'), body: Buffer.from('{"event":"payment.succeeded"}') };
    const fine = storedEvent('pay_fine');
    const { bus, deps } = await setup([corrupt, fine]);
    const outcomes = await publishQueuedIpns([message(corrupt, 'corrupt'), message(fine, 'fine')], deps);
    expect(outcomes.get('corrupt')?.status).toBe('failed');
    expect(outcomes.get('fine')?.status).toBe('published');
    expect(bus.published).toHaveLength(1);
  });

  it('fails the message when the event was published but could not be marked (a retry republishes it)', async () => {
    const event = storedEvent('pay_1');
    const { store, bus, deps } = await setup([event]);
    store.markPublished = async () => {
      throw new StoreUnavailableError('UpdateItem', { cause: new Error('throttled') });
    };
    const outcomes = await publishQueuedIpns([message(event, 'm')], deps);
    expect(bus.published).toHaveLength(1);
    expect(outcomes.get('m')?.status).toBe('failed');
  });

  it('retries marking an event it published, rather than failing the message and publishing it again', async () => {
    const event = storedEvent('pay_1');
    const { store, bus, deps } = await setup([event]);
    const markPublished = store.markPublished.bind(store);
    let failures = 2;
    store.markPublished = async (key, at) => {
      if (failures-- > 0) throw new StoreUnavailableError('UpdateItem', { cause: new Error('throttled') });
      return markPublished(key, at);
    };
    const outcomes = await publishQueuedIpns([message(event, 'm')], deps);
    expect(outcomes.get('m')?.status).toBe('published');
    expect(bus.published).toHaveLength(1);
    expect(store.items.get('pay_1/payment.succeeded')?.status).toBe('published');
  });

  it('throws when the store cannot be read, so the whole batch is retried and nothing is published', async () => {
    const event = storedEvent('pay_1');
    const { store, bus, deps } = await setup([event]);
    store.readMany = async () => {
      throw new StoreUnavailableError('BatchGetItem', { cause: new Error('down') });
    };
    await expect(publishQueuedIpns([message(event)], deps)).rejects.toThrow(StoreUnavailableError);
    expect(bus.requests).toEqual([]);
  });

  it('fails only the record whose stored item cannot be read; the rest of the batch publishes', async () => {
    const healthy = [storedEvent('pay_ok_1'), storedEvent('pay_ok_2')];
    const broken = storedEvent('pay_broken');
    const { store, bus, deps, metrics } = await setup([...healthy, broken]);
    store.unreadable.add('pay_broken/payment.succeeded');

    const outcomes = await publishQueuedIpns(
      [...healthy, broken].map((event) => message(event)),
      deps,
    );

    expect([...outcomes.values()].map((outcome) => outcome.status)).toEqual([
      'published',
      'published',
      'failed',
    ]);
    const failed = [...outcomes.values()][2];
    expect(failed?.status === 'failed' && failed.error.name).toBe('UnreadableStoredEventError');
    expect(bus.published).toHaveLength(2);
    expect(metrics.count('PoisonRecords')).toBe(1);
  });

  it('never publishes a held or discarded revision from the queue, and does not retry it', async () => {
    const held = {
      ...storedEvent('pay_held'),
      revisionHash: 'a'.repeat(64),
      revision: 2,
      status: 'held' as const,
    };
    const { bus, deps } = await setup([held]);
    const outcomes = await publishQueuedIpns([message(held)], deps);
    expect([...outcomes.values()]).toEqual([{ status: 'not-publishable-now', reason: 'held' }]);
    expect(bus.requests).toEqual([]);
  });

  it('publishes a released revision with its own eventId and its revision number', async () => {
    const first = storedEvent('pay_rev');
    const revision = { ...storedEvent('pay_rev'), revisionHash: 'b'.repeat(64), revision: 2 };
    const { bus, deps } = await setup([first, revision]);
    const outcomes = await publishQueuedIpns([message(first), message(revision, 'm-revision-2')], deps);
    expect([...outcomes.values()].map((outcome) => outcome.status)).toEqual(['published', 'published']);
    const details = bus.published.map(
      (entry) => JSON.parse(entry.detail) as { eventId: string; revision: number },
    );
    expect(details.map((detail) => detail.revision)).toEqual([1, 2]);
    expect(details[0]?.eventId).not.toBe(details[1]?.eventId);
  });

  it('counts an entry EventBridge refuses for good as unpublishable', async () => {
    const event = storedEvent('pay_refused');
    const { bus, deps, metrics } = await setup([event]);
    bus.failNext((entries) => entries.map(() => 'ValidationException'));
    const outcomes = await publishQueuedIpns([message(event)], deps);
    expect([...outcomes.values()][0]?.status).toBe('failed');
    expect(metrics.count('UnpublishableEvents')).toBe(1);
  });

  it('fails only the records of a payment whose ordering facts cannot be read', async () => {
    const events = [storedEvent('pay_ok'), storedEvent('pay_no_facts')];
    const { store, bus, deps } = await setup(events);
    const facts = store.orderingFacts.bind(store);
    store.orderingFacts = async (paymentIds) => {
      if (paymentIds.includes('pay_no_facts')) {
        throw new StoreUnavailableError('Query', { cause: new Error('ProvisionedThroughputExceeded') });
      }
      return facts(paymentIds);
    };
    const outcomes = await publishQueuedIpns(
      events.map((event) => message(event)),
      deps,
    );
    expect([...outcomes.values()].map((outcome) => outcome.status)).toEqual(['published', 'failed']);
    expect(bus.published).toHaveLength(1);
  });
});
