import { describe, expect, it } from 'vitest';
import type { EventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { parseExactJson } from '../../functions/shared/rules/exact-json.ts';
import {
  canonicalLintOptions,
  editDistance,
  type LintFinding,
  lintEventPattern,
} from '../../functions/shared/rules/pattern-lint.ts';
import { DEFAULT_RULES_DIR, readRuleDirectories } from '../../functions/shared/rules/rule-file.ts';

const options = canonicalLintOptions({});
const lint = (pattern: EventPattern): LintFinding[] => lintEventPattern(pattern, options);
const only = (pattern: EventPattern): LintFinding => {
  const findings = lint(pattern);
  expect(findings).toHaveLength(1);
  return findings[0] as LintFinding;
};
const largeOver = (amount: EventPattern) => ({
  source: ['okepay'],
  detail: { currency: ['EUR'], ...amount },
});

describe('lintEventPattern', () => {
  it('has nothing to say about the example rules', () => {
    for (const rule of readRuleDirectories([DEFAULT_RULES_DIR])) {
      expect(lint(rule.eventPattern), rule.name).toEqual([]);
    }
  });

  describe('paths no canonical event can have', () => {
    it.each<{ path: string; pattern: EventPattern; nearest: string }>([
      {
        path: 'details.amount.number',
        pattern: { details: { amount: { number: [1] } } },
        nearest: 'detail.amount.number',
      },
      {
        path: 'detail.ammount.number',
        pattern: { detail: { ammount: { number: [1] } } },
        nearest: 'detail.amount.number',
      },
      {
        path: 'detail.amount.numbr',
        pattern: { detail: { amount: { numbr: [1] } } },
        nearest: 'detail.amount.number',
      },
      { path: 'detail.currncy', pattern: { detail: { currncy: ['EUR'] } }, nearest: 'detail.currency' },
      { path: 'detail-typ', pattern: { 'detail-typ': ['payment.succeeded'] }, nearest: 'detail-type' },
      {
        path: 'detail.Raw.amount',
        pattern: { detail: { Raw: { amount: [1] } } },
        nearest: 'detail.raw.amount',
      },
    ])('warns about $path, with the nearest valid path $nearest', ({ path, pattern, nearest }) => {
      expect(only(pattern)).toEqual({
        severity: 'warning',
        path,
        message: expect.stringContaining(`${path}: no okePay event has this field`),
        suggestion: nearest,
      });
    });

    it('says when the nearest valid path is an object, and lists its fields', () => {
      expect(only({ details: { amount: [1] } }).message).toBe(
        'details.amount: no okePay event has this field, so this never matches; nearest valid path: ' +
          'detail.amount (an object with the fields detail.amount.decimal, detail.amount.minorUnits, ' +
          'detail.amount.number, detail.amount.minorUnitDigits)',
      );
    });

    it("accepts any path under detail.raw, which carries okePay's own fields", () => {
      expect(
        lint({ detail: { raw: { transaction_id: [{ numeric: ['>', 0] }], fees: { vat: ['x'] } } } }),
      ).toEqual([]);
    });

    it('warns about a pattern on an object of the event, which never matches', () => {
      expect(only({ detail: { replay: [{ exists: true }] } })).toMatchObject({
        severity: 'warning',
        message: expect.stringContaining(
          'detail.replay: an object in okePay events, and patterns only match values, so this never matches; ' +
            'its fields: detail.replay.replayId, detail.replay.requestedAt',
        ),
      });
      expect(only({ detail: { cascade: { attempts: [{ exists: false }] } } }).message).toContain(
        'always holds',
      );
    });
  });

  describe('filters of the wrong type', () => {
    it('warns about a numeric filter on a string field, naming the number field beside it', () => {
      expect(only(largeOver({ amount: { decimal: [{ numeric: ['>', 1000] }] } }))).toEqual({
        severity: 'warning',
        path: 'detail.amount.decimal',
        message:
          'detail.amount.decimal: {"numeric":[">",1000]} matches numbers, but detail.amount.decimal is a string ' +
          'in okePay events, so it never matches; detail.amount.number is a number',
        suggestion: 'detail.amount.number',
      });
    });

    it('warns about an exact number on a string field', () => {
      expect(only({ detail: { currency: [978] } }).message).toContain('detail.currency is a string');
    });

    it('warns about a string filter on a number field, naming the string field beside it', () => {
      expect(only({ detail: { amount: { number: [{ prefix: '12' }] } } })).toMatchObject({
        path: 'detail.amount.number',
        message: expect.stringContaining('matches strings, but detail.amount.number is a number'),
        suggestion: 'detail.amount.decimal',
      });
      expect(only({ detail: { revision: ['1'] } }).message).toContain('detail.revision is an integer');
    });

    it('warns that anything-but of strings on a number field matches every event', () => {
      expect(only({ detail: { amount: { minorUnits: [{ 'anything-but': 'x' }] } } }).message).toContain(
        'only excludes strings, but detail.amount.minorUnits is an integer in okePay events, so it matches every event',
      );
    });

    it('accepts filters of the right type, exists on any leaf, and null on detail.raw', () => {
      expect(
        lint({
          detail: {
            amount: { number: [{ numeric: ['>=', 0] }], decimal: [{ prefix: '1' }], minorUnits: [12990] },
            orderRef: [{ wildcard: 'SHOP-*' }, { 'anything-but': { prefix: 'TEST-' } }],
            statusReason: [{ exists: true }],
            raw: [null],
          },
        }),
      ).toEqual([]);
    });

    it('warns about a value outside an enum, with the nearest allowed one', () => {
      expect(only({ detail: { status: ['completed'] } })).toMatchObject({
        severity: 'warning',
        message: expect.stringContaining('"completed" is never its value'),
        suggestion: 'Completed',
      });
    });
  });

  describe('detail-type', () => {
    it('notes an event type okePay is not known to send, as unknown payment.* types pass through', () => {
      expect(only({ 'detail-type': ['payment.succeeded', 'payment.authorised'] })).toEqual({
        severity: 'note',
        path: 'detail-type',
        message: expect.stringContaining(
          '"payment.authorised" is not a known okePay event type (payment.pending, payment.succeeded, ' +
            'payment.failed, payment.refunded, payment.chargeback); other payment.* types are published under ' +
            'their own name',
        ),
      });
    });

    it('suggests the known type a misspelling is closest to', () => {
      expect(only({ 'detail-type': ['payment.succeded'] }).suggestion).toBe('payment.succeeded');
    });

    it('notes an operator that matches no known type, and not one that matches some', () => {
      expect(only({ 'detail-type': [{ prefix: 'refund' }] }).severity).toBe('note');
      expect(lint({ 'detail-type': [{ prefix: 'payment.' }, { suffix: 'ed' }] })).toEqual([]);
      expect(only({ detail: { type: ['payment.authorized'] } }).path).toBe('detail.type');
    });
  });

  describe('source', () => {
    it('warns when no okePay event has the source, naming the configured default', () => {
      expect(only({ source: ['okpay'] })).toEqual({
        severity: 'warning',
        path: 'source',
        message:
          'source: ["okpay"] never matches okePay events, whose source is "okepay" (the default; EVENT_SOURCE changes it)',
        suggestion: 'okepay',
      });
      expect(only({ source: [{ prefix: 'aws.' }] }).severity).toBe('warning');
    });

    it('accepts any alternative that matches the source', () => {
      expect(lint({ source: ['aws.ec2', { prefix: 'oke' }] })).toEqual([]);
    });

    it('uses EVENT_SOURCE when it is set', () => {
      const configured = canonicalLintOptions({ EVENT_SOURCE: 'okepay.staging' });
      expect(lintEventPattern({ source: ['okepay.staging'] }, configured)).toEqual([]);
      expect(lintEventPattern({ source: ['okepay'] }, configured)[0]?.message).toContain(
        'whose source is "okepay.staging" (EVENT_SOURCE)',
      );
    });
  });

  describe('what EventBridge does differently from what the pattern seems to say', () => {
    it('warns about a field written both outside and inside $or (decision b)', () => {
      const findings = lint({
        detail: { currency: ['EUR'], $or: [{ currency: ['USD'] }, { paymentId: ['p'] }] },
      });
      expect(findings).toEqual([
        expect.objectContaining({
          severity: 'warning',
          path: 'detail.currency',
          message:
            'detail.currency: written at detail.currency and again at detail.$or[0].currency; EventBridge keeps ' +
            'only the later one in branch detail.$or[0] and ignores ["EUR"] there: write the condition inside ' +
            'each $or alternative instead',
        }),
      ]);
    });

    it('warns once about an outer field written after a $or that names it', () => {
      const findings = lint({
        detail: { $or: [{ currency: ['USD'] }, { paymentId: ['p'] }], currency: ['EUR'] },
      });
      expect(findings).toHaveLength(1);
      expect(findings[0]?.message).toContain(
        'written at detail.$or[0].currency and again at detail.currency',
      );
    });

    it('warns about a key containing a dot (decision d)', () => {
      expect(only(parseExactJson('{"detail": {"amount.number": [1]}}') as EventPattern)).toMatchObject({
        severity: 'warning',
        path: 'detail.amount.number',
        message: expect.stringContaining('the key "amount.number" contains a dot'),
      });
    });

    it('notes exists:false on a field of an array of objects (decision a)', () => {
      expect(only({ detail: { cascade: { attempts: { code: [{ exists: false }] } } } })).toMatchObject({
        severity: 'note',
        path: 'detail.cascade.attempts.code',
        message: expect.stringContaining('exists:false inside the array detail.cascade.attempts'),
      });
    });
  });
});

describe('editDistance', () => {
  it.each([
    ['amount', 'amount', 0],
    ['ammount', 'amount', 1],
    ['numbr', 'number', 1],
    ['nubmer', 'number', 1],
    ['details', 'detail', 1],
    ['', 'abc', 3],
  ])('%s -> %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });
});
