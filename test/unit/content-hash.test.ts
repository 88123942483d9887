import { parse as parseLosslessJson } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import {
  canonicalNumber,
  contentSha256,
  contentSha256OfDocument,
} from '../../functions/shared/ipn/content-hash.ts';

describe('canonicalNumber', () => {
  it.each([
    ['129.90', '12990e-2', '1299e-1'],
    ['129.9', '1299e-1', '1299e-1'],
    ['100', '', '1e2'],
    ['1e2', '', '1e2'],
    ['1.0E+2', '', '1e2'],
    ['0', '', '0'],
    ['0.000', '', '0'],
    ['-5.50', '', '-55e-1'],
    ['9994456683762355345868', '', '9994456683762355345868e0'],
  ])('%s is %s', (text, _note, expected) => {
    expect(canonicalNumber(text)).toBe(expected);
  });

  it('keeps apart numbers a double cannot tell apart', () => {
    expect(canonicalNumber('9007199254740993')).not.toBe(canonicalNumber('9007199254740992'));
  });
});

describe('contentSha256', () => {
  const body = '{"event":"payment.refunded","amount":10.00,"meta":{"b":1,"a":[1,2]}}';

  it.each([
    ['other key order', '{"meta":{"a":[1,2],"b":1},"amount":10.00,"event":"payment.refunded"}'],
    ['whitespace', '{ "event" : "payment.refunded",\n  "amount": 10.00, "meta": {"b": 1, "a": [1, 2]} }'],
    [
      'another spelling of the same number',
      '{"event":"payment.refunded","amount":1e1,"meta":{"b":1,"a":[1,2]}}',
    ],
  ])('is the same for %s', (_case, other) => {
    expect(contentSha256(other)).toBe(contentSha256(body));
  });

  it.each([
    ['another amount', '{"event":"payment.refunded","amount":25.00,"meta":{"b":1,"a":[1,2]}}'],
    ['an array in another order', '{"event":"payment.refunded","amount":10.00,"meta":{"b":1,"a":[2,1]}}'],
    [
      'a number written as a string',
      '{"event":"payment.refunded","amount":"10.00","meta":{"b":1,"a":[1,2]}}',
    ],
  ])('differs for %s', (_case, other) => {
    expect(contentSha256(other)).not.toBe(contentSha256(body));
  });

  it('of a document already parsed is the hash of its body', () => {
    expect(contentSha256OfDocument(parseLosslessJson(body))).toBe(contentSha256(Buffer.from(body)));
  });
});
