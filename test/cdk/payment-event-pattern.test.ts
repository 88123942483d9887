/**
 * The patterns of subscriptions, checked with the project's own EventBridge matcher against the sample
 * events: what each helper selects, and what each delivery mode lets through.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventPattern, matchesEventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { readRuleFile } from '../../functions/shared/rules/rule-file.ts';
import { type DeliveryMode, subscriptionPattern } from '../../functions/shared/rules/subscription-pattern.ts';
import { PaymentEventPatternError } from '../../lib/errors.ts';
import { paymentEventPattern, withReplayClause } from '../../lib/payment-event-pattern.ts';
import { REPOSITORY_ROOT } from '../../lib/pipeline-function.ts';

type Envelope = { source: string; 'detail-type': string; detail: Record<string, unknown> };

function sample(name: string): Envelope {
  return JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'events', 'samples', `${name}.json`), 'utf8'));
}

/** The sample with `detail` fields replaced. */
function withDetail(event: Envelope, detail: Record<string, unknown>): Envelope {
  return { ...event, detail: { ...event.detail, ...detail } };
}

/** payment.succeeded, 129.90 EUR, order ORDER-100234. */
const succeeded = sample('payment-succeeded');
/** payment.refunded, 12.345 KWD. */
const refunded = sample('payment-refunded');
const requestedAt = '2026-05-12T00:00:00.000Z';
const deliveries = {
  live: succeeded,
  'a replay for every subscriber': withDetail(succeeded, { replay: { replayId: 'rp-1', requestedAt } }),
  'a replay for this subscriber': withDetail(succeeded, {
    replay: { replayId: 'rp-2', requestedAt, subscriber: 'ledger' },
  }),
  'a replay for another subscriber': withDetail(succeeded, {
    replay: { replayId: 'rp-3', requestedAt, subscriber: 'crm' },
  }),
};

const matches = (pattern: EventPattern, event: unknown) => matchesEventPattern(pattern, event);

function problemsOf(build: () => unknown): string[] {
  try {
    build();
  } catch (error) {
    if (error instanceof PaymentEventPatternError) return error.problems;
    throw error;
  }
  throw new Error('expected a PaymentEventPatternError');
}

describe('paymentEventPattern', () => {
  it('selects every payment event of source okepay without options', () => {
    expect(paymentEventPattern()).toEqual({ source: ['okepay'] });
    expect(matches(paymentEventPattern(), refunded)).toBe(true);
  });

  it('writes each option where the canonical event carries it', () => {
    expect(
      paymentEventPattern({
        source: 'com.example.payments',
        eventTypes: ['payment.succeeded'],
        currencies: ['EUR', 'USD'],
        amount: { above: 1000, atMost: 5000 },
        orderRefPrefix: 'SHOP-B-',
        detail: { status: ['Completed'] },
      }),
    ).toEqual({
      source: ['com.example.payments'],
      'detail-type': ['payment.succeeded'],
      detail: {
        currency: ['EUR', 'USD'],
        amount: { number: [{ numeric: ['>', 1000, '<=', 5000] }] },
        orderRef: [{ prefix: 'SHOP-B-' }],
        status: ['Completed'],
      },
    });
  });

  it.each<[string, Parameters<typeof paymentEventPattern>[0], boolean]>([
    ['its type', { eventTypes: ['payment.succeeded'] }, true],
    ['another type', { eventTypes: ['payment.refunded', 'payment.chargeback'] }, false],
    ['its currency', { currencies: ['EUR'] }, true],
    ['another currency', { currencies: ['USD'] }, false],
    ['above 100', { amount: { above: 100 } }, true],
    ['above its own amount, 129.9', { amount: { above: 129.9 } }, false],
    ['at least its own amount', { amount: { atLeast: 129.9 } }, true],
    ['below 130', { amount: { below: 130 } }, true],
    ['at most 129.89', { amount: { atMost: 129.89 } }, false],
    ['from 100 to 200', { amount: { atLeast: 100, below: 200 } }, true],
    ['from 200 to 300', { amount: { atLeast: 200, below: 300 } }, false],
    ['its order-ref prefix', { orderRefPrefix: 'ORDER-' }, true],
    ['one of several prefixes', { orderRefPrefix: ['SHOP-B-', 'ORDER-1002'] }, true],
    ['another prefix', { orderRefPrefix: 'SHOP-B-' }, false],
    ['its status, through the raw detail pattern', { detail: { status: ['Completed'] } }, true],
    ['a raw pattern it fails', { detail: { cascade: { approvedBy: ['ACQ-EU-1'] } } }, false],
    [
      'its type, currency and amount together',
      { eventTypes: ['payment.succeeded'], currencies: ['EUR'], amount: { above: 100 } },
      true,
    ],
    ['its type with another currency', { eventTypes: ['payment.succeeded'], currencies: ['JPY'] }, false],
  ])('on the succeeded sample (129.90 EUR, ORDER-100234), matches %s: %s', (_, filter, expected) => {
    expect(matches(paymentEventPattern(filter), succeeded)).toBe(expected);
  });

  it.each<[string, Parameters<typeof paymentEventPattern>[0], RegExp]>([
    ['an empty type list', { eventTypes: [] }, /eventTypes is empty/],
    [
      'a currency that is no ISO code',
      { currencies: ['eur'] },
      /currencies has "eur", which is not an ISO 4217 code/,
    ],
    ['an amount without a bound', { amount: {} }, /amount needs a bound/],
    ['two lower bounds', { amount: { above: 1, atLeast: 2 } }, /amount gives both above and atLeast/],
    [
      'a range no amount is in',
      { amount: { atLeast: 10, below: 10 } },
      /atLeast 10 and below 10 match no amount/,
    ],
    [
      'a bound EventBridge cannot compare',
      { amount: { above: 6e9 } },
      /amount.above must be a number from -5e9 to 5e9/,
    ],
    [
      'an empty order-ref prefix',
      { orderRefPrefix: '' },
      /orderRefPrefix has "", which is not a non-empty string/,
    ],
    [
      'a raw field an option already sets',
      { currencies: ['EUR'], detail: { currency: ['USD'] } },
      /detail.currency is also set by the currencies option/,
    ],
    [
      'a raw pattern EventBridge would refuse',
      { detail: { status: 'Completed' } },
      /the pattern: "detail.status"/,
    ],
  ])('refuses %s', (_, filter, problem) => {
    expect(problemsOf(() => paymentEventPattern(filter)).join('\n')).toMatch(problem);
  });

  it('lists every problem at once', () => {
    expect(problemsOf(() => paymentEventPattern({ eventTypes: [], currencies: ['x'] }))).toHaveLength(2);
  });
});

describe('withReplayClause', () => {
  const base = paymentEventPattern({ eventTypes: ['payment.succeeded'], currencies: ['EUR'] });

  it.each<[DeliveryMode, boolean, boolean, boolean, boolean]>([
    // deliver, live, replay for everyone, replay for this subscriber, replay for another
    ['live', true, false, false, false],
    ['replays', false, true, true, false],
    ['both', true, true, true, false],
  ])(
    '%s takes: live %s, a replay for everyone %s, one for it %s, one for another %s',
    (deliver, ...expected) => {
      const pattern = withReplayClause(base, 'ledger', deliver);
      expect(Object.values(deliveries).map((event) => matches(pattern, event))).toEqual(expected);
    },
  );

  it.each<DeliveryMode>(['live', 'replays', 'both'])(
    'builds the same pattern as the functions’ subscriptionPattern (%s)',
    (deliver) => {
      expect(withReplayClause(base, 'ledger', deliver)).toEqual(
        subscriptionPattern({
          name: 'ledger',
          deliver,
          detailTypes: ['payment.succeeded'],
          detail: { currency: ['EUR'] },
        }),
      );
    },
  );

  it.each<DeliveryMode>(['replays', 'both'])(
    'puts its $or at the top when detail has one of its own, and both hold (%s)',
    (deliver) => {
      const own: EventPattern = {
        source: ['okepay'],
        detail: { $or: [{ currency: ['EUR'] }, { amount: { number: [{ numeric: ['>', 1000] }] } }] },
      };
      const pattern = withReplayClause(own, 'ledger', deliver);
      expect(pattern.$or).toHaveLength(2);
      const forIt = deliveries['a replay for this subscriber'];
      expect(matches(pattern, forIt)).toBe(true);
      expect(matches(pattern, withDetail(forIt, { currency: 'USD' }))).toBe(false);
      expect(matches(pattern, deliveries['a replay for another subscriber'])).toBe(false);
    },
  );

  it('keeps a rule file’s "replays only" with both: the replays for everyone or for it', () => {
    const replayedEvents = readRuleFile(join(REPOSITORY_ROOT, 'events', 'rules', 'replayed-events.json'));
    const pattern = withReplayClause(replayedEvents.eventPattern, 'replayed-events', 'both');
    const forIt = withDetail(succeeded, {
      replay: { replayId: 'rp-4', requestedAt, subscriber: 'replayed-events' },
    });
    expect(
      [
        succeeded,
        deliveries['a replay for every subscriber'],
        forIt,
        deliveries['a replay for another subscriber'],
      ].map((event) => matches(pattern, event)),
    ).toEqual([false, true, true, false]);
  });

  it('leaves the given pattern as it was', () => {
    const before = structuredClone(base);
    withReplayClause(base, 'ledger', 'live');
    expect(base).toEqual(before);
  });

  it.each<[string, EventPattern, DeliveryMode, RegExp]>([
    [
      'names the subscriber',
      { detail: { replay: { subscriber: ['ledger'] } } },
      'both',
      /names detail.replay.subscriber, which the subscription sets \(its name, and deliver "both"\)/,
    ],
    [
      'names the replay id with deliver live',
      { detail: { replay: { replayId: [{ exists: false }] } } },
      'live',
      /names detail.replay.replayId/,
    ],
    [
      'names the subscriber inside a $or',
      { $or: [{ detail: { replay: { subscriber: ['x'] } } }, { source: ['okepay'] }] },
      'replays',
      /detail.replay.subscriber/,
    ],
    ['matches detail.replay as a value', { detail: { replay: [null] } }, 'both', /names detail.replay,/],
    [
      'has a $or both at the top and in detail',
      {
        $or: [{ source: ['a'] }, { source: ['b'] }],
        detail: { $or: [{ currency: ['EUR'] }, { currency: ['USD'] }] },
      },
      'both',
      /a \$or both at its top and in detail/,
    ],
  ])('refuses a pattern that %s', (_, pattern, deliver, problem) => {
    expect(problemsOf(() => withReplayClause(pattern, 'ledger', deliver)).join('\n')).toMatch(problem);
  });
});
