/**
 * Ordering signals: okePay's IPNs arrive out of order (a refund before its success after a retry
 * storm). When an event is published, the pipeline looks at everything it has stored for the same
 * payment and says, by okePay's `occurred_at` (not arrival), whether it already knew of something that
 * happened later, and what the payment's latest known state is. Pure: the consumer and the replay read
 * the facts (one Query per payment) and pass them here.
 */
import type { StoredEventStatus } from '../store/event-store.ts';
import type { PaymentEventDetail } from './payment-event.ts';
import { statusFor } from './status.ts';

/** What ordering needs of one stored event of the payment (no body). */
export interface OrderingFact {
  event: string;
  revision: number;
  occurredAt: string;
  receivedAt: string;
  status: StoredEventStatus;
}

export type OrderingSignals = NonNullable<PaymentEventDetail['ordering']>;

const instant = (iso: string) => Date.parse(iso);

/** Later by occurred_at; on a tie, the one received later (the pipeline learnt of it last). */
function later(a: OrderingFact, b: OrderingFact): boolean {
  const difference = instant(a.occurredAt) - instant(b.occurredAt);
  return difference !== 0 ? difference > 0 : a.receivedAt > b.receivedAt;
}

/**
 * `self` is the event being published; `facts` everything stored for its payment (it included or not).
 * Discarded revisions are not part of the payment's story and are left out.
 */
export function orderingOf(self: OrderingFact, facts: readonly OrderingFact[]): OrderingSignals {
  const sameAsSelf = (fact: OrderingFact) => fact.event === self.event && fact.revision === self.revision;
  const known = [self, ...facts.filter((fact) => fact.status !== 'discarded' && !sameAsSelf(fact))];
  let latest = self;
  for (const fact of known) if (later(fact, latest)) latest = fact;
  return {
    outOfOrder: latest !== self && instant(latest.occurredAt) > instant(self.occurredAt),
    latest: {
      type: latest.event,
      revision: latest.revision,
      status: statusFor(latest.event).status,
      occurredAt: new Date(latest.occurredAt).toISOString(),
    },
    basedOn: known.length,
  };
}
