import { describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { type DeliveryMode, subscriptionPattern } from '../../functions/shared/rules/subscription-pattern.ts';

const event = (replay?: Record<string, string>) => ({
  source: 'okepay',
  'detail-type': 'payment.succeeded',
  detail: { paymentId: 'pay_1', currency: 'EUR', ...(replay ? { replay } : {}) },
});
const live = event();
const broadcast = event({ replayId: 'rp-1', requestedAt: '2026-05-10T00:00:00.000Z' });
const forLedger = event({ replayId: 'rp-2', requestedAt: '2026-05-10T00:00:00.000Z', subscriber: 'ledger' });
const forOther = event({ replayId: 'rp-3', requestedAt: '2026-05-10T00:00:00.000Z', subscriber: 'crm' });

describe('subscriptionPattern', () => {
  it.each<[DeliveryMode, boolean, boolean, boolean, boolean]>([
    // mode, live, replay for everyone, replay for ledger, replay for another subscriber
    ['live', true, false, false, false],
    ['replays', false, true, true, false],
    ['both', true, true, true, false],
  ])('%s: live %s, broadcast replay %s, replay for it %s, replay for another %s', (deliver, ...expected) => {
    const pattern = subscriptionPattern({ name: 'ledger', deliver, detail: { currency: ['EUR'] } });
    expect(
      [live, broadcast, forLedger, forOther].map((candidate) => matchesEventPattern(pattern, candidate)),
    ).toEqual(expected);
  });

  it('keeps the other conditions', () => {
    const pattern = subscriptionPattern({ name: 'ledger', deliver: 'both', detail: { currency: ['USD'] } });
    expect(matchesEventPattern(pattern, live)).toBe(false);
  });

  it('refuses a detail pattern that sets replay itself', () => {
    expect(() => subscriptionPattern({ name: 'x', deliver: 'live', detail: { replay: {} } })).toThrow(
      /detail.replay is set by the delivery mode/,
    );
  });
});
