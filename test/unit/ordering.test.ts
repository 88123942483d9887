import { describe, expect, it } from 'vitest';
import { type OrderingFact, orderingOf } from '../../functions/shared/canonical/ordering.ts';

const fact = (event: string, occurredAt: string, overrides: Partial<OrderingFact> = {}): OrderingFact => ({
  event,
  revision: 1,
  occurredAt,
  receivedAt: '2026-05-10T13:00:00.000Z',
  status: 'published',
  ...overrides,
});

const succeeded = fact('payment.succeeded', '2026-05-10T12:00:00Z', { status: 'received' });
const refunded = fact('payment.refunded', '2026-05-10T12:30:00Z', { receivedAt: '2026-05-10T12:59:00.000Z' });

describe('orderingOf', () => {
  it('flags a success published after its refund was received: out of order, latest is the refund', () => {
    expect(orderingOf(succeeded, [succeeded, refunded])).toEqual({
      outOfOrder: true,
      latest: {
        type: 'payment.refunded',
        revision: 1,
        status: 'Reversed',
        occurredAt: '2026-05-10T12:30:00.000Z',
      },
      basedOn: 2,
    });
  });

  it('says in order, with itself as the latest, when nothing later is known', () => {
    expect(orderingOf(refunded, [succeeded, refunded])).toMatchObject({
      outOfOrder: false,
      latest: { type: 'payment.refunded', status: 'Reversed' },
      basedOn: 2,
    });
  });

  it('orders by occurred_at across time zones, not by the text', () => {
    const early = fact('payment.pending', '2026-05-10T14:00:00+02:00'); // 12:00Z
    const late = fact('payment.failed', '2026-05-10T12:30:00Z', { status: 'received' });
    expect(orderingOf(late, [early]).outOfOrder).toBe(false);
    expect(orderingOf(early, [late]).outOfOrder).toBe(true);
  });

  it('breaks a tie on occurred_at by what arrived last, and never calls a tie out of order', () => {
    const first = fact('payment.succeeded', '2026-05-10T12:00:00Z', {
      receivedAt: '2026-05-10T12:00:01.000Z',
    });
    const second = fact('payment.refunded', '2026-05-10T12:00:00Z', {
      receivedAt: '2026-05-10T12:00:02.000Z',
    });
    expect(orderingOf(first, [second])).toMatchObject({
      outOfOrder: false,
      latest: { type: 'payment.refunded' },
    });
  });

  it('leaves discarded revisions out', () => {
    const discarded = fact('payment.refunded', '2026-05-10T13:00:00Z', { revision: 2, status: 'discarded' });
    expect(orderingOf(succeeded, [discarded])).toMatchObject({ outOfOrder: false, basedOn: 1 });
  });
});
