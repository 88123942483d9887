import { describe, expect, it } from 'vitest';
import { diagnoseDeadLetters } from '../../functions/operations/dead-letters/diagnose-dead-letters.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import { InMemoryEventStore } from '../helpers/in-memory.ts';
import { ipnJson } from '../helpers/ipn.ts';

function stored(
  paymentId: string,
  status: StoredEvent['status'],
  body = ipnJson({ payment_id: paymentId }),
): StoredEvent {
  return {
    paymentId,
    event: 'payment.succeeded',
    orderRef: 'ORDER-1',
    body: Buffer.from(body),
    bodySha256: 'sha',
    signatureTimestamp: 0,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status,
    ...(status === 'published' ? { publishedAt: '2026-05-10T12:48:00.000Z' } : {}),
    revision: 1,
    conflictCount: 0,
    expiresAt: 0,
  };
}

const reference = (paymentId: string) =>
  JSON.stringify({ v: 1, paymentId, event: 'payment.succeeded', bodySha256: 'sha', receivedAt: 'x' });

describe('diagnoseDeadLetters', () => {
  it.each([
    ['a body that is not JSON', 'not json', 'poison', /^poison message: the body is not JSON/],
    [
      'JSON that is no queued reference',
      '{"hello":1}',
      'poison',
      /^poison message: not a queued IPN reference \(v: /,
    ],
    [
      'a reference to no stored event',
      reference('pay_gone'),
      'stored-event-missing',
      /^stored event missing \(expired or deleted\)$/,
    ],
    [
      'a stored event still unpublished',
      reference('pay_received'),
      'publish-failed',
      /^publish failed; see consumer logs/,
    ],
    [
      'a stored event whose body no longer validates',
      reference('pay_altered'),
      'unpublishable',
      /^unpublishable: its canonical event cannot be built: .*redrive cannot help$/,
    ],
    [
      'a stored item that cannot be read',
      reference('pay_unreadable'),
      'stored-event-unreadable',
      /^stored item cannot be read \(.*\); no retry can publish it/,
    ],
    [
      'a held revision',
      reference('pay_held'),
      'not-released',
      /^a revision that is held; it is published only by `okepay revisions release`/,
    ],
    [
      'a stored event published since',
      reference('pay_published'),
      'already-published',
      /^already published at 2026-05-10T12:48:00.000Z \(safe to purge\)$/,
    ],
  ])('explains %s', async (_name, body, verdict, reason) => {
    const store = new InMemoryEventStore();
    await store.putIfAbsent(stored('pay_received', 'received'));
    await store.putIfAbsent(stored('pay_published', 'published'));
    await store.putIfAbsent(stored('pay_altered', 'received', '{"event":"payment.succeeded"}'));
    await store.putIfAbsent(stored('pay_unreadable', 'received'));
    store.unreadable.add('pay_unreadable/payment.succeeded');
    await store.putIfAbsent(stored('pay_held', 'held'));
    const [diagnosis] = await diagnoseDeadLetters([{ messageId: 'm-1', body }], store);
    expect(diagnosis?.verdict).toBe(verdict);
    expect(diagnosis?.reason).toMatch(reason);
    expect(diagnosis?.messageId).toBe('m-1');
  });

  it('reads the stored events of all messages in one batch', async () => {
    const store = new InMemoryEventStore();
    const calls: number[] = [];
    const counting = {
      readMany: async (keys: Parameters<InMemoryEventStore['readMany']>[0]) => {
        calls.push(keys.length);
        return store.readMany(keys);
      },
    };
    await diagnoseDeadLetters(
      [
        { messageId: 'a', body: reference('pay_1') },
        { messageId: 'b', body: 'junk' },
        { messageId: 'c', body: reference('pay_2') },
      ],
      counting,
    );
    expect(calls).toEqual([2]);
  });
});
