import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { DEFAULT_RULES_DIR, readRuleDirectories } from '../../functions/shared/rules/rule-file.ts';

const samplesDir = join(import.meta.dirname, '../../events/samples');
const samples = new Map(
  readdirSync(samplesDir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => [
      file.replace(/\.json$/, ''),
      JSON.parse(readFileSync(join(samplesDir, file), 'utf8')) as unknown,
    ]),
);
const rules = new Map(readRuleDirectories([DEFAULT_RULES_DIR]).map((rule) => [rule.name, rule]));

/** Which samples each example rule is meant to match; every other sample must not match. */
const expectedMatches: Record<string, string[]> = {
  'succeeded-payments': ['payment-succeeded'],
  'refunds-and-chargebacks': ['payment-chargeback', 'payment-refunded'],
  'large-eur-payments': ['payment-chargeback'],
  'shop-b-orders': ['payment-unknown-type'],
  // The samples are live events; a replayed copy is tested below.
  'replayed-events': [],
};

describe('example rules in events/rules', () => {
  it('every rule file has an expectation here, and every expectation a file', () => {
    expect([...rules.keys()].sort()).toEqual(Object.keys(expectedMatches).sort());
  });

  it.each(Object.entries(expectedMatches))('%s matches exactly %j', (name, expected) => {
    const rule = rules.get(name);
    if (!rule) throw new Error(`no rule ${name}`);
    const matched = [...samples]
      .filter(([, sample]) => matchesEventPattern(rule.eventPattern, sample))
      .map(([n]) => n);
    expect(matched.sort()).toEqual([...expected].sort());
  });

  it('replayed-events matches a replayed copy of each sample, and no live one', () => {
    const rule = rules.get('replayed-events');
    if (!rule) throw new Error('no rule replayed-events');
    for (const [name, sample] of samples) {
      const envelope = sample as { detail: Record<string, unknown> };
      const replayed = {
        ...envelope,
        detail: { ...envelope.detail, replay: { replayId: 'r-1', requestedAt: '2026-06-01T00:00:00.000Z' } },
      };
      expect(matchesEventPattern(rule.eventPattern, replayed), name).toBe(true);
      expect(matchesEventPattern(rule.eventPattern, sample), name).toBe(false);
    }
  });

  it('large-eur-payments compares the amount as a number: 1000.00 is not over 1000, 1000.01 is', () => {
    const rule = rules.get('large-eur-payments');
    if (!rule) throw new Error('no rule large-eur-payments');
    const event = (value: number) => ({
      source: 'okepay',
      detail: { currency: 'EUR', amount: { number: value } },
    });
    expect(matchesEventPattern(rule.eventPattern, event(1000))).toBe(false);
    expect(matchesEventPattern(rule.eventPattern, event(1000.01))).toBe(true);
    expect(
      matchesEventPattern(rule.eventPattern, {
        ...event(5000),
        detail: { currency: 'USD', amount: { number: 5000 } },
      }),
    ).toBe(false);
  });
});
