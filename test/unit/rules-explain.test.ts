import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type EventPattern,
  explainEventPattern,
  matchesEventPattern,
} from '../../functions/shared/event-pattern-matcher.ts';
import { parseExactJson } from '../../functions/shared/rules/exact-json.ts';
import { DEFAULT_RULES_DIR, readRuleDirectories } from '../../functions/shared/rules/rule-file.ts';

const samplesDir = join(import.meta.dirname, '../../events/samples');
const samples = readdirSync(samplesDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, event: parseExactJson(readFileSync(join(samplesDir, file), 'utf8')) }));
const sample = (name: string): unknown => {
  const found = samples.find(({ file }) => file === `${name}.json`);
  if (found === undefined) throw new Error(`no sample ${name}`);
  return found.event;
};

/** The messages of an explanation, shared ones first, then each branch's prefixed with its choices. */
function messages(pattern: EventPattern, event: unknown): string[] {
  const { failures, branches } = explainEventPattern(pattern, event);
  return [
    ...failures.map((f) => f.message),
    ...branches.flatMap(({ choices, failures: own }) =>
      own.map((f) => `${choices.join(' + ')}: ${f.message}`),
    ),
  ];
}

describe('explainEventPattern', () => {
  const largeEur: EventPattern = {
    source: ['okepay'],
    detail: { currency: ['EUR'], amount: { number: [{ numeric: ['>', 1000] }] } },
  };

  it('says nothing about an event the pattern matches', () => {
    expect(explainEventPattern(largeEur, sample('payment-chargeback'))).toEqual({
      matched: true,
      failures: [],
      branches: [],
    });
  });

  it('names the numeric filter that failed and the value it failed on', () => {
    expect(messages(largeEur, sample('payment-succeeded'))).toEqual([
      'detail.amount.number: {"numeric":[">",1000]} did not match 129.9',
    ]);
  });

  it('lists every failing field, in the order the pattern writes them', () => {
    expect(messages(largeEur, sample('payment-unknown-type'))).toEqual([
      'detail.currency: "USD" is not one of ["EUR"]',
      'detail.amount.number: {"numeric":[">",1000]} did not match 42.5',
    ]);
  });

  it('says exists:false failed because the event has the field, and where', () => {
    const live: EventPattern = { detail: { replay: { replayId: [{ exists: false }] } } };
    const replayed = { detail: { replay: { replayId: 'r-1' } } };
    expect(messages(live, replayed)).toEqual(['detail.replay.replayId: exists:false, but the event has it']);
    const noCode: EventPattern = { detail: { cascade: { attempts: { code: [{ exists: false }] } } } };
    expect(messages(noCode, sample('payment-succeeded'))).toEqual([
      'detail.cascade.attempts.code: exists:false, but the event has it ' +
        '(detail.cascade.attempts[0].code, detail.cascade.attempts[1].code)',
    ]);
  });

  it('says exists:true failed because the event lacks the field', () => {
    const replayedOnly: EventPattern = { detail: { replay: { replayId: [{ exists: true }] } } };
    expect(messages(replayedOnly, sample('payment-pending'))).toEqual([
      'detail.replay.replayId: exists:true, but the event does not have it',
    ]);
  });

  it('says when a field is missing, or is an object rather than a value', () => {
    expect(messages({ detail: { orderRef: [{ prefix: 'SHOP-B-' }] } }, { detail: {} })).toEqual([
      'detail.orderRef: the event does not have this field (pattern [{"prefix":"SHOP-B-"}])',
    ]);
    expect(messages({ detail: { amount: ['129.90'] } }, sample('payment-succeeded'))).toEqual([
      'detail.amount: the event has an object here, and patterns only match values (pattern ["129.90"])',
    ]);
  });

  it('shows numbers as the event wrote them', () => {
    const event = parseExactJson('{"detail": {"amount": {"number": 129.90}}}');
    expect(messages({ detail: { amount: { number: [{ numeric: ['>', 1000] }] } } }, event)).toEqual([
      'detail.amount.number: {"numeric":[">",1000]} did not match 129.90',
    ]);
  });

  it('lists every value of an array field', () => {
    expect(messages({ resources: ['arn:a'] }, { resources: ['arn:b', 'arn:c'] })).toEqual([
      'resources: none of "arn:b", "arn:c" is one of ["arn:a"]',
    ]);
    expect(messages({ tags: [{ prefix: 'eu-' }] }, { tags: ['us-1', 'ap-1'] })).toEqual([
      'tags: {"prefix":"eu-"} did not match any of "us-1", "ap-1"',
    ]);
  });

  it('shows a mixed list of alternatives whole', () => {
    expect(messages({ state: ['running', { prefix: 'stop' }] }, { state: 'pending' })).toEqual([
      'state: none of ["running",{"prefix":"stop"}] matched "pending"',
    ]);
  });

  it('lists each $or branch with its own failure, and the failures all branches share once', () => {
    const pattern: EventPattern = {
      source: ['okepay.test'],
      detail: { $or: [{ currency: ['EUR'] }, { amount: { number: [{ numeric: ['>', 1000] }] } }] },
    };
    const explanation = explainEventPattern(pattern, sample('payment-unknown-type'));
    expect(explanation.failures.map((f) => f.message)).toEqual([
      'source: "okepay" is not one of ["okepay.test"]',
    ]);
    expect(explanation.branches).toEqual([
      {
        choices: ['detail.$or[0]'],
        failures: [expect.objectContaining({ message: 'detail.currency: "USD" is not one of ["EUR"]' })],
      },
      {
        choices: ['detail.$or[1]'],
        failures: [
          expect.objectContaining({
            message: 'detail.amount.number: {"numeric":[">",1000]} did not match 42.5',
          }),
        ],
      },
    ]);
  });

  it('labels branches of nested and parallel $or by every alternative taken', () => {
    const pattern: EventPattern = {
      $or: [{ source: ['a'] }, { detail: { $or: [{ x: [1] }, { y: [2] }] } }],
      region: ['eu-west-1'],
    };
    expect(messages(pattern, { source: 'b', region: 'eu-west-1', detail: { x: 3 } })).toEqual([
      '$or[0]: source: "b" is not one of ["a"]',
      '$or[1] + $or[1].detail.$or[0]: detail.x: 3 is not one of [1]',
      '$or[1] + $or[1].detail.$or[1]: detail.y: the event does not have this field (pattern [2])',
    ]);
  });

  it('says when fields match only in different elements of an array of objects', () => {
    const employees = [
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ];
    expect(messages({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, { employees })).toEqual([
      'employees: employees.firstName and employees.lastName each match in some element, but no single ' +
        'element matches them all (EventBridge matches an array of objects element by element)',
    ]);
  });

  it('agrees with matchesEventPattern on every example rule and sample', () => {
    for (const rule of readRuleDirectories([DEFAULT_RULES_DIR])) {
      for (const { file, event } of samples) {
        const explanation = explainEventPattern(rule.eventPattern, event);
        expect(explanation.matched, `${rule.name} on ${file}`).toBe(
          matchesEventPattern(rule.eventPattern, event),
        );
        expect(explanation.matched || explanation.failures.length + explanation.branches.length > 0).toBe(
          true,
        );
      }
    }
  });
});
