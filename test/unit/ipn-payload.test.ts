import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../functions/shared/ipn/errors.ts';
import { parseIpnBody } from '../../functions/shared/ipn/payload.ts';
import { ipnJson, ipnSamples, RawNumber } from '../helpers/ipn.ts';

function issuesOf(body: Buffer | string): { path: string; message: string }[] {
  try {
    parseIpnBody(Buffer.isBuffer(body) ? body : Buffer.from(body));
  } catch (error) {
    if (error instanceof InvalidPayloadError) return error.issues;
    throw error;
  }
  return [];
}

describe('parseIpnBody', () => {
  it.each([...ipnSamples().entries()])('accepts the sample %s', (_name, body) => {
    expect(issuesOf(body)).toEqual([]);
  });

  it('keeps the amount exactly as sent: 129.90 stays "129.90"', () => {
    expect(parseIpnBody(Buffer.from(ipnJson({ amount: new RawNumber('129.90') }))).amount).toBe('129.90');
  });

  it('reads the sample IPNs amounts as written, trailing zeros included', () => {
    const samples = ipnSamples();
    const amountOf = (name: string) => parseIpnBody(samples.get(name) ?? Buffer.alloc(0)).amount;
    expect(amountOf('payment-succeeded')).toBe('129.90');
    expect(amountOf('payment-chargeback')).toBe('1499.00');
  });

  it('accepts an amount sent as a decimal string', () => {
    expect(parseIpnBody(Buffer.from(ipnJson({ amount: '129.90' }))).amount).toBe('129.90');
  });

  it('keeps unknown fields', () => {
    const payload = parseIpnBody(Buffer.from(ipnJson({ customer: { country: 'DE' }, reason: 'x' })));
    expect(payload).toHaveProperty('reason', 'x');
  });

  it('passes an unknown payment.* type on rather than dropping it', () => {
    expect(parseIpnBody(Buffer.from(ipnJson({ event: 'payment.authorized' }))).event).toBe(
      'payment.authorized',
    );
  });

  it('reads the cascade attempts with typed fields', () => {
    const payload = parseIpnBody(
      Buffer.from(
        ipnJson({
          attempts: [
            { n: 1, acquirer: 'ACQ-EU-1', result: 'soft_decline', code: '05' },
            { n: 2, acquirer: 'ACQ-APM-DE', result: 'approved' },
          ],
        }),
      ),
    );
    expect(payload.attempts).toEqual([
      { n: 1, acquirer: 'ACQ-EU-1', result: 'soft_decline', code: '05' },
      { n: 2, acquirer: 'ACQ-APM-DE', result: 'approved' },
    ]);
  });

  it.each([
    ['EUR with 2 decimals', 'EUR', '129.90'],
    ['EUR with 1 decimal', 'EUR', '129.9'],
    ['EUR with none', 'EUR', '129'],
    ['JPY with none', 'JPY', '5400'],
    ['KWD with 3 decimals', 'KWD', '12.345'],
    ['zero', 'EUR', '0'],
    ['12 integer digits', 'EUR', '999999999999.99'],
    ['JPY with two zero decimals, as OKPAY writes every amount', 'JPY', '5400.00'],
    ['EUR with a trailing zero past its 2 digits', 'EUR', '129.900'],
    ['KWD with a trailing zero past its 3 digits', 'KWD', '12.3450'],
    ['XCG (ISO 4217 since 2025, newer than the bundled table)', 'XCG', '129.90'],
    ['CLF with 4 decimals', 'CLF', '1.2345'],
    ['CLF with 11 integer digits and 4 decimals (15 digits in minor units)', 'CLF', '99999999999.9999'],
    ['UYW with 4 decimals', 'UYW', '1000.5000'],
    ['IQD with 3 decimals (ISO 4217; CLDR would say 0)', 'IQD', '1500.125'],
  ])('accepts an amount in %s', (_name, currency, amount) => {
    expect(issuesOf(ipnJson({ currency, amount: new RawNumber(amount) }))).toEqual([]);
  });

  it.each([
    ['EUR with 3 decimals', 'EUR', new RawNumber('129.901'), 'amount', 'EUR allows at most 2 decimal digits'],
    ['JPY with decimals', 'JPY', new RawNumber('5400.5'), 'amount', 'JPY allows at most 0 decimal digits'],
    ['JPY with non-zero digits past its exponent', 'JPY', new RawNumber('5400.50'), 'amount', '5400.50'],
    [
      'EUR with a non-zero third decimal',
      'EUR',
      new RawNumber('129.901'),
      'amount',
      'other than trailing zeros',
    ],
    [
      'CLF with 12 integer digits (16 digits in minor units)',
      'CLF',
      new RawNumber('100000000000.0000'),
      'amount',
      'at most 15 digits in minor units',
    ],
    [
      'UYW past 15 digits in minor units',
      'UYW',
      '999999999999',
      'amount',
      'at most 15 digits in minor units',
    ],
    ['silver', 'XAG', new RawNumber('1'), 'currency', 'not an ISO 4217 payment currency'],
    ['the SDR', 'XDR', new RawNumber('1'), 'currency', 'not an ISO 4217 payment currency'],
    ['the testing code', 'XTS', new RawNumber('1'), 'currency', 'not an ISO 4217 payment currency'],
    ['the SUCRE', 'XSU', new RawNumber('1'), 'currency', 'not an ISO 4217 payment currency'],
    ['KWD with 4 decimals', 'KWD', new RawNumber('1.2345'), 'amount', 'KWD allows at most 3 decimal digits'],
    ['a negative amount', 'EUR', new RawNumber('-5.00'), 'amount', 'must not be negative'],
    ['an exponent', 'EUR', new RawNumber('1.2e3'), 'amount', 'no exponent'],
    ['13 integer digits', 'EUR', new RawNumber('1000000000000'), 'amount', 'at most 12 integer digits'],
    ['a huge number', 'EUR', new RawNumber('9'.repeat(400)), 'amount', 'at most 12 integer digits'],
    ['a comma decimal string', 'EUR', '129,90', 'amount', 'plain decimal'],
    ['a thousands separator', 'EUR', '1,299.00', 'amount', 'plain decimal'],
    ['a boolean', 'EUR', true, 'amount', 'decimal number'],
    ['an unknown currency', 'ABC', new RawNumber('1.00'), 'currency', 'not an ISO 4217 payment currency'],
    ['a lower-case currency', 'eur', new RawNumber('1.00'), 'currency', 'upper-case ISO 4217'],
    ['gold as currency', 'XAU', new RawNumber('1'), 'currency', 'not an ISO 4217 payment currency'],
  ])('rejects %s', (_name, currency, amount, path, message) => {
    const issues = issuesOf(ipnJson({ currency, amount }));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it.each([
    ['a missing event', { event: undefined }, 'event'],
    ['a non-payment event', { event: 'refund.created' }, 'event'],
    ['an empty payment_id', { payment_id: '' }, 'payment_id'],
    ['a payment_id with spaces', { payment_id: 'pay 1' }, 'payment_id'],
    ['a payment_id with a quote', { payment_id: 'pay"1' }, 'payment_id'],
    ['a payment_id with a backslash', { payment_id: 'pay\\1' }, 'payment_id'],
    ['a numeric payment_id', { payment_id: 123 }, 'payment_id'],
    ['a 129-character payment_id', { payment_id: 'p'.repeat(129) }, 'payment_id'],
    ['an empty order_ref', { order_ref: '' }, 'order_ref'],
    ['a 128-character order_ref', { order_ref: 'o'.repeat(128) }, 'order_ref'],
    ['an order_ref with a newline', { order_ref: 'A\nB' }, 'order_ref'],
    ['a missing occurred_at', { occurred_at: undefined }, 'occurred_at'],
    ['an OKPAY-style timestamp', { occurred_at: '10-05-2026 12:46' }, 'occurred_at'],
    ['a date without time', { occurred_at: '2026-05-10' }, 'occurred_at'],
    ['attempts that are not a list', { attempts: 'three' }, 'attempts'],
    ['an attempt without acquirer', { attempts: [{ n: 1, result: 'approved' }] }, 'attempts[0].acquirer'],
    ['an attempt numbered 0', { attempts: [{ n: 0, acquirer: 'A', result: 'approved' }] }, 'attempts[0].n'],
  ])('rejects %s', (_name, overrides, path) => {
    expect(issuesOf(ipnJson(overrides)).map((issue) => issue.path)).toContain(path);
  });

  it.each([
    ['a year-10000 instant', '9999-12-31T23:59:59-23:59'],
    ['a year -1 instant', '0000-01-01T00:00:00+23:59'],
  ])('rejects an occurred_at that is %s once in UTC', (_name, occurred_at) => {
    expect(issuesOf(ipnJson({ occurred_at }))).toEqual([
      {
        path: 'occurred_at',
        message: expect.stringContaining('between 0000-01-01T00:00:00Z and 9999-12-31'),
      },
    ]);
  });

  it.each([
    ['the first instant of year 0', '0000-01-01T00:00:00Z'],
    ['the last instant of year 9999', '9999-12-31T23:59:59.999Z'],
    ['a late offset that stays in year 9999', '9999-12-31T00:00:00-23:59'],
  ])('accepts an occurred_at at %s', (_name, occurred_at) => {
    expect(issuesOf(ipnJson({ occurred_at }))).toEqual([]);
  });

  it.each([
    ['a 65-character attempt code', { code: 'c'.repeat(65) }, 'attempts[0].code', 'at most 64'],
    [
      'a 65-digit numeric attempt code',
      { code: new RawNumber('9'.repeat(65)) },
      'attempts[0].code',
      'at most 64',
    ],
    ['a 129-character acquirer', { acquirer: 'a'.repeat(129) }, 'attempts[0].acquirer', 'at most 128'],
    ['a 65-character result', { result: 'r'.repeat(65) }, 'attempts[0].result', 'at most 64'],
    ['an attempt numbered 10000', { n: 10_000 }, 'attempts[0].n', 'at most 9999'],
    ['a lone surrogate in the acquirer', { acquirer: 'ACQ-\ud800' }, 'attempts[0].acquirer', 'Unicode'],
  ])('rejects %s, which the canonical event copies', (_name, fields, path, message) => {
    const attempt = { n: 1, acquirer: 'ACQ-EU-1', result: 'approved', ...fields };
    expect(issuesOf(ipnJson({ attempts: [attempt] }))).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });

  it('rejects an order_ref with a lone surrogate (it is a DynamoDB key, which must be UTF-8)', () => {
    // JSON.stringify writes the lone surrogate as the escape \udc00, as a sender could.
    expect(issuesOf(ipnJson({ order_ref: 'ORDER-\udc00' }))).toContainEqual({
      path: 'order_ref',
      message: expect.stringContaining('Unicode'),
    });
  });

  it('accepts an order_ref of emoji and accented text', () => {
    expect(issuesOf(ipnJson({ order_ref: 'Bestellung-Müller-😀-€' }))).toEqual([]);
  });

  it('rejects a body nested deeper than 64 levels, with a reason', () => {
    const deep = `${'['.repeat(64)}${']'.repeat(64)}`;
    const body = ipnJson({ extra: 0 }).replace('"extra":0', `"extra":${deep}`);
    expect(issuesOf(body)).toEqual([{ path: '', message: expect.stringContaining('64 levels') }]);
  });

  it('accepts unknown fields nested 63 levels deep, brackets inside strings aside', () => {
    const deep = `${'['.repeat(62)}"[[[{{{"${']'.repeat(62)}`;
    const body = ipnJson({ extra: 0 }).replace('"extra":0', `"extra":${deep}`);
    expect(issuesOf(body)).toEqual([]);
  });

  it('accepts a 127-character order_ref (the OKPAY invoice limit)', () => {
    expect(issuesOf(ipnJson({ order_ref: 'o'.repeat(127) }))).toEqual([]);
  });

  it('reports every issue at once', () => {
    const paths = issuesOf(ipnJson({ payment_id: '', currency: 'xx', occurred_at: 'now' })).map(
      (i) => i.path,
    );
    expect(paths).toEqual(expect.arrayContaining(['payment_id', 'currency', 'occurred_at']));
  });

  it.each([
    ['invalid JSON', '{"event":', 'not valid JSON'],
    ['an empty body', '', 'not valid JSON'],
    ['a JSON array', '[]', 'must be a JSON object'],
    ['a JSON string', '"payment.succeeded"', 'must be a JSON object'],
    ['null', 'null', 'must be a JSON object'],
    ['a duplicate key with different values', '{"amount":1,"amount":2}', 'Duplicate key'],
  ])('rejects %s', (_name, body, message) => {
    expect(issuesOf(body)).toEqual([{ path: '', message: expect.stringContaining(message) }]);
  });

  it('rejects a body with a UTF-8 byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ipnJson())]);
    expect(issuesOf(body)).toEqual([{ path: '', message: expect.stringContaining('byte order mark') }]);
  });

  it('rejects bytes that are not UTF-8', () => {
    const body = Buffer.from(ipnJson({ order_ref: 'ORDER-X' }));
    body[body.indexOf('X')] = 0xff;
    expect(issuesOf(body)).toEqual([{ path: '', message: 'body is not valid UTF-8' }]);
  });
});
