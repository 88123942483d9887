import { describe, expect, it } from 'vitest';
import { SignatureVerificationError } from '../../functions/shared/ipn/errors.ts';
import {
  computeSignature,
  parseSignatureHeader,
  signatureHeader,
  verifySignature,
} from '../../functions/shared/ipn/signature.ts';
import { NOW_MS, NOW_SECONDS, OTHER_SECRET, TEST_SECRET } from '../helpers/ipn.ts';

const body = Buffer.from('{"event":"payment.succeeded","amount":129.90}');
const hmac = (content: Buffer | string, secret = TEST_SECRET) =>
  computeSignature(secret, Buffer.from(content)).toString('hex');

function verify(header: string | undefined, overrides: Partial<Parameters<typeof verifySignature>[0]> = {}) {
  return verifySignature({
    header,
    rawBody: body,
    secrets: [TEST_SECRET],
    scheme: 'body',
    toleranceSeconds: 300,
    nowMs: NOW_MS,
    ...overrides,
  });
}

function reasonOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof SignatureVerificationError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('verifySignature', () => {
  it('accepts the HMAC-SHA256 of the raw body and returns the signature timestamp', () => {
    expect(verify(`t=${NOW_SECONDS},v1=${hmac(body)}`)).toBe(NOW_SECONDS);
  });

  it('accepts upper-case hex and whitespace around the pairs', () => {
    expect(verify(` t=${NOW_SECONDS} , v1=${hmac(body).toUpperCase()} `)).toBe(NOW_SECONDS);
  });

  it('signs `<t>.<body>` under the timestamp.body scheme, and the plain body no longer matches', () => {
    const header = `t=${NOW_SECONDS},v1=${hmac(`${NOW_SECONDS}.${body}`)}`;
    expect(verify(header, { scheme: 'timestamp.body' })).toBe(NOW_SECONDS);
    expect(reasonOf(() => verify(header))).toBe('no_matching_signature');
    expect(reasonOf(() => verify(`t=${NOW_SECONDS},v1=${hmac(body)}`, { scheme: 'timestamp.body' }))).toBe(
      'no_matching_signature',
    );
  });

  it('passes when any of several v1 signatures matches (the sender rotating its secret)', () => {
    const header = `t=${NOW_SECONDS},v1=${hmac(body, OTHER_SECRET)},v1=${hmac(body)}`;
    expect(verify(header)).toBe(NOW_SECONDS);
  });

  it('passes when the signature matches any of several configured secrets (the receiver rotating)', () => {
    const header = `t=${NOW_SECONDS},v1=${hmac(body, OTHER_SECRET)}`;
    expect(verify(header, { secrets: [TEST_SECRET, OTHER_SECRET] })).toBe(NOW_SECONDS);
    expect(reasonOf(() => verify(header, { secrets: [TEST_SECRET] }))).toBe('no_matching_signature');
  });

  it('ignores unknown schemes such as v2 next to a valid v1', () => {
    expect(verify(`t=${NOW_SECONDS},v2=abc,v1=${hmac(body)}`)).toBe(NOW_SECONDS);
  });

  it('rejects a body changed by one byte', () => {
    const header = `t=${NOW_SECONDS},v1=${hmac(body)}`;
    const changed = Buffer.from(body);
    changed[changed.length - 2] = 0x31;
    expect(reasonOf(() => verify(header, { rawBody: changed }))).toBe('no_matching_signature');
  });

  it('rejects a re-serialised body (129.90 became 129.9)', () => {
    const header = `t=${NOW_SECONDS},v1=${hmac(body)}`;
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
    expect(reasonOf(() => verify(header, { rawBody: reserialised }))).toBe('no_matching_signature');
  });

  it.each([
    ['no header at all', undefined, 'missing_signature'],
    ['an empty header', '', 'missing_signature'],
    ['a blank header', '   ', 'missing_signature'],
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'malformed_signature'],
    ['no v1', `t=${NOW_SECONDS}`, 'malformed_signature'],
    ['two timestamps', `t=${NOW_SECONDS},t=${NOW_SECONDS},v1=${'a'.repeat(64)}`, 'malformed_signature'],
    ['a non-numeric timestamp', `t=yesterday,v1=${'a'.repeat(64)}`, 'malformed_signature'],
    ['a negative timestamp', `t=-5,v1=${'a'.repeat(64)}`, 'malformed_signature'],
    ['a fractional timestamp', `t=${NOW_SECONDS}.5,v1=${'a'.repeat(64)}`, 'malformed_signature'],
    ['a pair without =', `t=${NOW_SECONDS},v1`, 'malformed_signature'],
    ['a header of 5000 characters', `t=${NOW_SECONDS},v1=${'a'.repeat(5000)}`, 'malformed_signature'],
    ['non-hex v1', `t=${NOW_SECONDS},v1=${'z'.repeat(64)}`, 'no_matching_signature'],
    ['a truncated v1', `t=${NOW_SECONDS},v1=${hmac(body).slice(0, 63)}`, 'no_matching_signature'],
    ['a v1 one byte short', `t=${NOW_SECONDS},v1=${hmac(body).slice(0, 62)}`, 'no_matching_signature'],
    ['a v1 with extra digits', `t=${NOW_SECONDS},v1=${hmac(body)}00`, 'no_matching_signature'],
    ['an empty v1', `t=${NOW_SECONDS},v1=`, 'no_matching_signature'],
    [
      'the right HMAC under the wrong secret',
      `t=${NOW_SECONDS},v1=${hmac(body, OTHER_SECRET)}`,
      'no_matching_signature',
    ],
    [
      'a base64 HMAC',
      `t=${NOW_SECONDS},v1=${computeSignature(TEST_SECRET, body).toString('base64')}`,
      'no_matching_signature',
    ],
  ])('rejects %s', (_name, header, reason) => {
    expect(reasonOf(() => verify(header))).toBe(reason);
  });

  it.each([
    ['exactly 300 s old', -300, 'accepted'],
    ['301 s old', -301, 'timestamp_outside_tolerance'],
    ['exactly 300 s in the future', 300, 'accepted'],
    ['301 s in the future', 301, 'timestamp_outside_tolerance'],
    ['6 minutes in the future', 360, 'timestamp_outside_tolerance'],
    ['a day old', -86_400, 'timestamp_outside_tolerance'],
    ['at the epoch', -NOW_SECONDS, 'timestamp_outside_tolerance'],
  ])('with a tolerance of 300 s, a timestamp %s is %s', (_name, offset, expected) => {
    const t = NOW_SECONDS + offset;
    expect(reasonOf(() => verify(`t=${t},v1=${hmac(body)}`))).toBe(expected);
  });

  it('applies a configured tolerance', () => {
    const header = `t=${NOW_SECONDS - 30},v1=${hmac(body)}`;
    expect(reasonOf(() => verify(header, { toleranceSeconds: 10 }))).toBe('timestamp_outside_tolerance');
    expect(reasonOf(() => verify(header, { toleranceSeconds: 30 }))).toBe('accepted');
  });

  it('checks the timestamp before the HMAC, so a stale request is refused even with a valid signature', () => {
    const old = NOW_SECONDS - 3600;
    expect(reasonOf(() => verify(`t=${old},v1=${hmac(body)}`))).toBe('timestamp_outside_tolerance');
  });

  it('tells the caller how to fix an unmatched signature', () => {
    expect(() => verify(`t=${NOW_SECONDS},v1=${'0'.repeat(64)}`)).toThrow(/raw request body/);
  });

  it('rejects everything when no secret is configured', () => {
    expect(reasonOf(() => verify(`t=${NOW_SECONDS},v1=${hmac(body)}`, { secrets: [] }))).toBe(
      'no_matching_signature',
    );
  });
});

describe('parseSignatureHeader', () => {
  it('keeps every v1 in order', () => {
    expect(parseSignatureHeader('t=1,v1=aa,v1=bb')).toEqual({ timestamp: 1, signatures: ['aa', 'bb'] });
  });
});

describe('signatureHeader', () => {
  it('builds a header that verifySignature accepts under both schemes', () => {
    for (const scheme of ['body', 'timestamp.body'] as const) {
      const header = signatureHeader({ rawBody: body, secret: TEST_SECRET, scheme, timestamp: NOW_SECONDS });
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verify(header, { scheme })).toBe(NOW_SECONDS);
    }
  });
});
