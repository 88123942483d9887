import { describe, expect, it } from 'vitest';
import { InvalidSelectionError } from '../../functions/replay/errors.ts';
import { matchesSelection, planQueries, selectCandidates, utcDaysOf } from '../../functions/replay/plan.ts';
import {
  describeSelection,
  normaliseSelection,
  type ReplaySelection,
  type SelectionFieldNames,
} from '../../functions/replay/selection.ts';
import type { ReplayCandidate, SelectionQuery } from '../../functions/replay/stored-event-query.ts';

const NOW = new Date('2026-05-10T12:47:00.000Z');
const FLAGS: SelectionFieldNames = {
  paymentIds: '--payment-id',
  orderRef: '--order-ref',
  since: '--since',
  until: '--until',
  types: '--type',
  status: '--status',
  scan: '--scan',
  subscriber: '--subscriber',
};

function problemsOf(input: unknown): string[] {
  try {
    normaliseSelection(input, NOW, FLAGS);
  } catch (error) {
    if (error instanceof InvalidSelectionError) return error.problems;
    throw error;
  }
  throw new Error('the selection was accepted');
}

describe('normaliseSelection', () => {
  it('freezes the upper bound at the request time when no --until is given', () => {
    expect(normaliseSelection({ paymentIds: ['pay_1'] }, NOW)).toEqual({
      paymentIds: ['pay_1'],
      until: '2026-05-10T12:47:00.000Z',
    });
  });

  it('writes since and until in the stored receivedAt format, whatever ISO 8601 form was given', () => {
    expect(normaliseSelection({ since: '2026-05-08', until: '2026-05-09T14:00:00+02:00' }, NOW)).toEqual({
      since: '2026-05-08T00:00:00.000Z',
      until: '2026-05-09T12:00:00.000Z',
    });
  });

  it('never lets --until reach past the request time', () => {
    expect(normaliseSelection({ orderRef: 'ORDER-1', until: '2030-01-01' }, NOW).until).toBe(
      '2026-05-10T12:47:00.000Z',
    );
  });

  it('removes repeated payment ids and types', () => {
    const selection = normaliseSelection(
      { paymentIds: ['pay_1', 'pay_1'], types: ['payment.failed', 'payment.failed'] },
      NOW,
    );
    expect(selection.paymentIds).toEqual(['pay_1']);
    expect(selection.types).toEqual(['payment.failed']);
  });

  it.each([
    ['nothing at all', {}, /nothing selects events: give --payment-id, --order-ref or a time window/],
    ['only a type', { types: ['payment.succeeded'] }, /or pass --scan to read the whole table/],
    ['only a status', { status: 'received' }, /nothing selects events/],
    ['--until alone', { until: '2026-05-09' }, /--until alone is no window: add --since/],
    [
      'a local time without offset',
      { since: '2026-05-09T10:00:00' },
      /--since must be ISO 8601.*with Z or an offset/,
    ],
    ['a date that does not exist', { since: '2026-02-30T00:00:00Z' }, /--since/],
    ['since after until', { since: '2026-05-09', until: '2026-05-08' }, /--since .* must be before --until/],
    ['since in the future', { since: '2026-06-01' }, /is not before now/],
    ['a window of 3 years', { since: '2023-05-01' }, /spans \d+ days, more than 400/],
    ['an unknown status', { paymentIds: ['p'], status: 'rejected' }, /--status/],
    ['an unknown field', { paymentId: 'p' }, /Unrecognized key/],
  ])('refuses %s, saying why', (_name, input, message) => {
    expect(problemsOf(input).join('\n')).toMatch(message);
  });

  it('accepts a type or status filter alone when --scan allows a scan', () => {
    expect(normaliseSelection({ types: ['payment.failed'], scan: true }, NOW)).toMatchObject({ scan: true });
  });

  it('names the JSON fields by default, for the Lambda', () => {
    expect(() => normaliseSelection({}, NOW)).toThrow(/give paymentIds, orderRef or a time window \(since/);
  });
});

describe('utcDaysOf', () => {
  it.each([
    ['one day', '2026-05-10T00:00:00.000Z', '2026-05-11T00:00:00.000Z', ['2026-05-10']],
    ['a window within a day', '2026-05-10T08:00:00.000Z', '2026-05-10T09:00:00.000Z', ['2026-05-10']],
    [
      'a window across midnight',
      '2026-05-09T23:00:00.000Z',
      '2026-05-10T01:00:00.000Z',
      ['2026-05-09', '2026-05-10'],
    ],
    [
      'three days, ending mid-day',
      '2026-05-08T12:00:00.000Z',
      '2026-05-10T12:00:00.000Z',
      ['2026-05-08', '2026-05-09', '2026-05-10'],
    ],
  ])('%s', (_name, since, until, days) => {
    expect(utcDaysOf(since, until)).toEqual(days);
  });
});

describe('planQueries: which requests a selection makes', () => {
  const until = '2026-05-10T12:47:00.000Z';
  const cases: [string, ReplaySelection, SelectionQuery[]][] = [
    [
      'payment ids: a Query on pk each, even with an order ref and window',
      { paymentIds: ['pay_1', 'pay_2'], orderRef: 'ORDER-1', since: '2026-05-01T00:00:00.000Z', until },
      [
        { kind: 'payment', paymentId: 'pay_1' },
        { kind: 'payment', paymentId: 'pay_2' },
      ],
    ],
    [
      'an order ref: the byOrderRef index, bounded by the request time',
      { orderRef: 'ORDER-1', until },
      [{ kind: 'order-ref', orderRef: 'ORDER-1', to: until }],
    ],
    [
      'an order ref and a window: the byOrderRef index with the window as the key range',
      { orderRef: 'ORDER-1', since: '2026-05-09T00:00:00.000Z', until },
      [{ kind: 'order-ref', orderRef: 'ORDER-1', from: '2026-05-09T00:00:00.000Z', to: until }],
    ],
    [
      'a window: the byReceivedDay index, one Query per UTC day, each with the key range',
      { since: '2026-05-09T22:00:00.000Z', until, types: ['payment.failed'] },
      [
        { kind: 'received-day', day: '2026-05-09', from: '2026-05-09T22:00:00.000Z', to: until },
        { kind: 'received-day', day: '2026-05-10', from: '2026-05-09T22:00:00.000Z', to: until },
      ],
    ],
    ['--scan with no key or window: one Scan', { until, scan: true, status: 'received' }, [{ kind: 'scan' }]],
    [
      '--scan is not used when an index selects',
      { orderRef: 'ORDER-1', until, scan: true },
      [{ kind: 'order-ref', orderRef: 'ORDER-1', to: until }],
    ],
  ];
  it.each(cases)('%s', (_name, selection, queries) => {
    expect(planQueries(selection)).toEqual(queries);
  });

  it('refuses a selection with nothing to query by and no --scan', () => {
    expect(() => planQueries({ until })).toThrow(RangeError);
  });
});

describe('matchesSelection: the filters applied in code', () => {
  const candidate: ReplayCandidate = {
    paymentId: 'pay_1',
    event: 'payment.succeeded',
    orderRef: 'ORDER-1',
    status: 'published',
    receivedAt: '2026-05-10T10:00:00.000Z',
  };
  const until = '2026-05-10T12:47:00.000Z';
  it.each([
    [{ until }, true],
    [{ until: '2026-05-10T10:00:00.000Z' }, false],
    [{ since: '2026-05-10T10:00:00.000Z', until }, true],
    [{ since: '2026-05-10T10:00:00.001Z', until }, false],
    [{ paymentIds: ['pay_2'], until }, false],
    [{ orderRef: 'ORDER-2', until }, false],
    [{ types: ['payment.failed', 'payment.succeeded'], until }, true],
    [{ types: ['payment.failed'], until }, false],
    [{ status: 'published' as const, until }, true],
    [{ status: 'received' as const, until }, false],
  ])('%j → %s', (selection, expected) => {
    expect(matchesSelection(candidate, selection)).toBe(expected);
  });

  it('never selects a rejected body', () => {
    expect(matchesSelection({ ...candidate, status: 'rejected' }, { until, scan: true })).toBe(false);
  });
});

describe('selectCandidates', () => {
  it('returns the union of the queries once each, filtered, in received order', async () => {
    const event = (paymentId: string, type: string, receivedAt: string): ReplayCandidate => ({
      paymentId,
      event: type,
      orderRef: 'ORDER-1',
      status: 'received',
      receivedAt,
    });
    const byPayment: Record<string, ReplayCandidate[]> = {
      pay_1: [
        event('pay_1', 'payment.succeeded', '2026-05-10T10:00:02.000Z'),
        event('pay_1', 'payment.pending', '2026-05-10T10:00:01.000Z'),
      ],
      pay_2: [
        event('pay_2', 'payment.pending', '2026-05-10T10:00:01.000Z'),
        event('pay_2', 'payment.failed', '2026-05-10T12:50:00.000Z'),
      ],
    };
    const selected = await selectCandidates(
      { paymentIds: ['pay_2', 'pay_1', 'pay_2'], until: '2026-05-10T12:47:00.000Z' },
      async (query) => (query.kind === 'payment' ? (byPayment[query.paymentId] ?? []) : []),
    );
    expect(selected.map((c) => `${c.paymentId} ${c.event}`)).toEqual([
      'pay_1 payment.pending',
      'pay_2 payment.pending',
      'pay_1 payment.succeeded',
    ]);
  });
});

describe('describeSelection', () => {
  it('says what was selected in one line', () => {
    expect(
      describeSelection({
        paymentIds: ['pay_1'],
        since: '2026-05-09T00:00:00.000Z',
        until: '2026-05-10T00:00:00.000Z',
        types: ['payment.succeeded'],
        status: 'received',
      }),
    ).toBe(
      'payment pay_1; received 2026-05-09T00:00:00.000Z .. 2026-05-10T00:00:00.000Z; type payment.succeeded; status received',
    );
  });
});
