import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { UsageError } from '../../bin/commands/command.ts';
import { run } from '../../bin/commands/rules.ts';

const root = join(import.meta.dirname, '../..');
const rule = (name: string) => join(root, 'events/rules', `${name}.json`);
const sample = (name: string) => join(root, 'events/samples', `${name}.json`);

let log: MockInstance<typeof console.log>;
const output = (): string => log.mock.calls.map((args) => args.join(' ')).join('\n');

beforeEach(() => {
  log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  log.mockRestore();
});

function ruleFile(eventPattern: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'okepay-rules-')), 'rule.json');
  writeFileSync(file, JSON.stringify({ name: 'under-test', eventPattern }));
  return file;
}

describe('okepay rules test', () => {
  it('prints the lint, then each event with why it did not match, then the count', async () => {
    const code = await run([
      'test',
      rule('large-eur-payments'),
      sample('payment-chargeback'),
      sample('payment-unknown-type'),
    ]);
    expect(code).toBe(0);
    expect(output()).toBe(
      [
        `large-eur-payments (${rule('large-eur-payments')})`,
        'lint: no findings',
        '',
        'match     payment-chargeback.json',
        'no match  payment-unknown-type.json',
        '            detail.currency: "USD" is not one of ["EUR"]',
        '            detail.amount.number: {"numeric":[">",1000]} did not match 42.5',
        '',
        'large-eur-payments: 1 of 2 events match',
      ].join('\n'),
    );
  });

  it('prints lint findings before the results', async () => {
    const file = ruleFile({
      source: ['okepay'],
      detail: { ammount: { number: [{ numeric: ['>', 1000] }] } },
    });
    await run(['test', file, sample('payment-succeeded')]);
    const lines = output().split('\n');
    expect(lines.slice(1, 3)).toEqual([
      'lint:',
      '  warning  detail.ammount.number: no okePay event has this field, so this never matches; nearest valid ' +
        'path: detail.amount.number',
    ]);
    expect(lines).toContain(
      '            detail.ammount.number: the event does not have this field (pattern [{"numeric":[">",1000]}])',
    );
  });

  it('lists each $or branch that failed', async () => {
    const file = ruleFile({
      detail: { $or: [{ currency: ['EUR'] }, { orderRef: [{ prefix: 'SHOP-A-' }] }] },
    });
    await run(['test', file, sample('payment-unknown-type')]);
    expect(output()).toContain(
      [
        '            every $or branch fails:',
        '              detail.$or[0]: detail.currency: "USD" is not one of ["EUR"]',
        '              detail.$or[1]: detail.orderRef: {"prefix":"SHOP-A-"} did not match "SHOP-B-2291"',
      ].join('\n'),
    );
  });

  it('reads numbers as written, in the rule and in the events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okepay-rules-'));
    const file = join(dir, 'rule.json');
    writeFileSync(
      file,
      '{"name": "big-id", "eventPattern": {"detail": {"raw": {"id": [9007199254740993]}}}}',
    );
    const event = join(dir, 'event.json');
    writeFileSync(event, '{"detail": {"raw": {"id": 9007199254740992}}}');
    await run(['test', file, event]);
    expect(output()).toContain('detail.raw.id: 9007199254740992 is not one of [9007199254740993]');
  });

  it('prints JSON with --json', async () => {
    await run(['test', '--json', rule('large-eur-payments'), sample('payment-succeeded')]);
    const result = JSON.parse(output());
    expect(result).toMatchObject({ rule: 'large-eur-payments', lint: [], matched: 0, total: 1 });
    expect(result.events[0]).toMatchObject({
      file: sample('payment-succeeded'),
      matched: false,
      failures: [
        {
          path: 'detail.amount.number',
          problem: 'no-match',
          pattern: [{ numeric: ['>', 1000] }],
          values: ['129.9'],
          message: 'detail.amount.number: {"numeric":[">",1000]} did not match 129.9',
        },
      ],
    });
  });

  it('refuses an event file that is not JSON, and --strict', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okepay-rules-'));
    writeFileSync(join(dir, 'bad.json'), '{"detail": ');
    await expect(run(['test', rule('large-eur-payments'), join(dir, 'bad.json')])).rejects.toThrow(
      'is not a JSON event',
    );
    await expect(
      run(['test', '--strict', rule('large-eur-payments'), sample('payment-succeeded')]),
    ).rejects.toThrow(UsageError);
  });
});

describe('okepay rules lint', () => {
  it('exits 0 on warnings, and 1 with --strict', async () => {
    const file = ruleFile({ source: ['okpay'] });
    expect(await run(['lint', file])).toBe(0);
    expect(output()).toContain('  warning  source: ["okpay"] never matches okePay events');
    expect(output()).toContain('1 warning, 0 notes in 1 rule file');
    expect(await run(['lint', '--strict', file])).toBe(1);
  });

  it('exits 0 with --strict when there are only notes', async () => {
    expect(await run(['lint', '--strict', ruleFile({ 'detail-type': ['payment.authorized'] })])).toBe(0);
    expect(output()).toContain('0 warnings, 1 note in 1 rule file');
  });

  it('reports every example rule clean', async () => {
    const files = readdirSync(join(root, 'events/rules')).map((name) => join(root, 'events/rules', name));
    expect(await run(['lint', '--strict', ...files])).toBe(0);
    expect(output()).toContain(`0 warnings, 0 notes in ${files.length} rule files`);
  });

  it('exits 1 when a rule file is invalid, and still lints the others', async () => {
    const invalid = ruleFile({ source: 'okepay' });
    expect(await run(['lint', invalid, rule('succeeded-payments')])).toBe(1);
    expect(output()).toContain(`Invalid rule file ${invalid}`);
    expect(output()).toContain('(succeeded-payments): no findings');
  });

  it('prints JSON with --json', async () => {
    await run(['lint', '--json', ruleFile({ detail: { amount: { numbr: [1] } } })]);
    expect(JSON.parse(output())).toMatchObject({
      rules: [
        { rule: 'under-test', findings: [{ severity: 'warning', suggestion: 'detail.amount.number' }] },
      ],
      warnings: 1,
      notes: 0,
      invalid: 0,
    });
  });
});
