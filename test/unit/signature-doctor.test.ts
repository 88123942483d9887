import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  type SignatureScheme,
  signedContent,
} from '../../functions/shared/ipn/signature.ts';
import {
  type DiagnoseSignatureInput,
  diagnoseSignature,
  formatDuration,
  type SignatureDiagnosis,
} from '../../functions/shared/ipn/signature-doctor.ts';
import { NOW_MS, NOW_SECONDS, OTHER_SECRET, sign, TEST_SECRET } from '../helpers/ipn.ts';

/** What `okepay send` builds: JSON pretty-printed with 2 spaces, the amount with two decimals. */
const SENT = `{
  "event": "payment.succeeded",
  "payment_id": "pay_8b1e4c2a9f",
  "order_ref": "ORDER-100234",
  "amount": 129.90,
  "currency": "EUR",
  "occurred_at": "2026-05-10T12:46:52Z",
  "customer": {
    "name": "José Müller",
    "url": "https://shop.example/orders/100234"
  },
  "attempts": [
    {
      "n": 1,
      "result": "approved"
    }
  ]
}`;
/** What a framework hands on after JSON.parse + JSON.stringify: compact, and 129.90 became 129.9. */
const REPARSED = JSON.stringify(JSON.parse(SENT));

function diagnose(
  header: string | undefined,
  body: Buffer | string,
  overrides: Partial<DiagnoseSignatureInput> = {},
): SignatureDiagnosis {
  return diagnoseSignature({
    header,
    rawBody: Buffer.from(body),
    secrets: [TEST_SECRET],
    scheme: 'body',
    toleranceSeconds: 300,
    nowMs: NOW_MS,
    ...overrides,
  });
}

/** Every secret, every v1 of the header, and every HMAC of a secret over the body: none may be shown. */
function secretMaterial(header: string | undefined, body: Buffer | string, secrets: readonly string[]) {
  const material = [...secrets];
  for (const match of (header ?? '').matchAll(/v1=([^,]+)/g)) material.push(match[1] ?? '');
  const timestamp = Number(/t=(\d+)/.exec(header ?? '')?.[1] ?? NOW_SECONDS);
  for (const secret of secrets) {
    for (const scheme of ['body', 'timestamp.body'] as SignatureScheme[]) {
      for (const content of [Buffer.from(body), Buffer.from(SENT)]) {
        const digest = computeSignature(secret, signedContent(scheme, timestamp, content));
        material.push(digest.toString('hex'), digest.toString('base64'), digest.toString('base64url'));
      }
    }
  }
  return material.filter((item) => item.length >= 8);
}

function expectNoSecretIn(result: SignatureDiagnosis, header: string | undefined, body: Buffer | string) {
  const text = JSON.stringify(result);
  for (const item of secretMaterial(header, body, [TEST_SECRET, OTHER_SECRET])) {
    expect(text.toLowerCase()).not.toContain(item.toLowerCase());
  }
}

describe('diagnoseSignature', () => {
  describe('a header it cannot read', () => {
    it.each([
      ['no header at all', undefined, 'missing_header', /no X-Okepay-Signature header/],
      ['an empty header', '  ', 'missing_header', /no X-Okepay-Signature header/],
      ['a header without t', `v1=${'a'.repeat(64)}`, 'malformed_header', /no valid t=<unix seconds>/],
      [
        't in milliseconds',
        `t=${NOW_MS},v1=${'a'.repeat(64)}`,
        'malformed_header',
        /looks like milliseconds/,
      ],
      [
        'a header without v1',
        `t=${NOW_SECONDS},v2=${'a'.repeat(64)}`,
        'malformed_header',
        /keys found are: t, v2/,
      ],
      ['not key=value pairs', 'deadbeef', 'malformed_header', /comma-separated list of key=value/],
      [
        'the header name pasted in',
        `X-Okepay-Signature: t=${NOW_SECONDS},v1=${'a'.repeat(64)}`,
        'malformed_header',
        /give only what follows the colon/,
      ],
      [
        'a base64 v1',
        `t=${NOW_SECONDS},v1=${Buffer.alloc(32, 7).toString('base64')}`,
        'malformed_header',
        /looks base64-encoded; okePay writes it in hex/,
      ],
      ['a sha256= prefix', `t=${NOW_SECONDS},v1=sha256=${'a'.repeat(64)}`, 'malformed_header', /"sha256="/],
    ])('%s: %s', (_name, header, verdict, explanation) => {
      const result = diagnose(header, SENT);

      expect(result).toMatchObject({ verdict, valid: false });
      expect(result.explanation).toMatch(explanation);
      expect(`${result.explanation} ${result.fix}`).toMatch(/t=|okepay (send|sign)/);
    });

    it('shows how the header must look', () => {
      expect(diagnose('t=x', SENT).explanation).toContain('`t=1715342812,v1=<64 hex digits>`');
    });
  });

  describe('a readable header', () => {
    it.each<{
      name: string;
      header: string;
      body: string;
      overrides?: Partial<DiagnoseSignatureInput>;
      expected: Partial<SignatureDiagnosis>;
      says: RegExp[];
    }>([
      {
        name: 'valid, with its skew',
        header: sign(SENT, { timestamp: NOW_SECONDS - 3 }),
        body: SENT,
        expected: {
          verdict: 'valid',
          valid: true,
          skewSeconds: 3,
          withinTolerance: true,
          match: { secretPosition: 1, scheme: 'body' },
        },
        says: [/3 s in the past, within the tolerance of 5 min/, /Nothing to fix/],
      },
      {
        name: 'valid with the second of two secrets',
        header: sign(SENT),
        body: SENT,
        overrides: { secrets: [OTHER_SECRET, TEST_SECRET] },
        expected: { verdict: 'valid', match: { secretPosition: 2, scheme: 'body' } },
        says: [/secret #2 of 2/],
      },
      {
        name: 'signed with a secret that is not configured',
        header: sign(SENT, { secret: OTHER_SECRET }),
        body: SENT,
        overrides: { secrets: [TEST_SECRET, `${TEST_SECRET}_old`] },
        expected: { verdict: 'wrong_secret', valid: false },
        says: [/Tried 2 secrets \(#1 and #2\)/, /both schemes/, /okePay's dashboard/],
      },
      {
        name: 'a configured secret with the quotes of an env file',
        header: sign(SENT),
        body: SENT,
        overrides: { secrets: [`"${TEST_SECRET}"\n`] },
        expected: {
          verdict: 'wrong_secret',
          match: { secretPosition: 1, scheme: 'body', secretNeeds: 'trimming' },
        },
        says: [/#1 has extra characters/, /without the surrounding whitespace or quotes/],
      },
      {
        name: 'signed under timestamp.body, endpoint set to body',
        header: sign(SENT, { scheme: 'timestamp.body' }),
        body: SENT,
        expected: { verdict: 'wrong_scheme', match: { secretPosition: 1, scheme: 'timestamp.body' } },
        says: [/OKEPAY_SIGNATURE_SCHEME=timestamp.body/, /"signatureScheme": "timestamp.body"/],
      },
      {
        name: 'signed under body, endpoint set to timestamp.body',
        header: sign(SENT),
        body: SENT,
        overrides: { scheme: 'timestamp.body' },
        expected: { verdict: 'wrong_scheme', match: { secretPosition: 1, scheme: 'body' } },
        says: [/OKEPAY_SIGNATURE_SCHEME=body/],
      },
      {
        name: 'the wrong scheme and a stale timestamp',
        header: sign(SENT, { scheme: 'timestamp.body', timestamp: NOW_SECONDS - 3600 }),
        body: SENT,
        expected: { verdict: 'wrong_scheme', withinTolerance: false, skewSeconds: 3600 },
        says: [/Once that is fixed, the timestamp will be refused too: it is 1 h in the past/],
      },
      {
        name: 'a timestamp 7 min 32 s in the past',
        header: sign(SENT, { timestamp: NOW_SECONDS - 452 }),
        body: SENT,
        expected: { verdict: 'clock_skew', skewSeconds: 452, withinTolerance: false },
        says: [/7 min 32 s in the past/, /captured earlier and sent again/, /about 7 min 32 s ahead/],
      },
      {
        name: 'a timestamp 6 min 40 s in the future',
        header: sign(SENT, { timestamp: NOW_SECONDS + 400 }),
        body: SENT,
        expected: { verdict: 'clock_skew', skewSeconds: -400 },
        says: [/6 min 40 s in the future/, /about 6 min 40 s behind/],
      },
      {
        name: 'a timestamp past a smaller tolerance',
        header: sign(SENT, { timestamp: NOW_SECONDS - 61 }),
        body: SENT,
        overrides: { toleranceSeconds: 60 },
        expected: { verdict: 'clock_skew' },
        says: [/1 min 1 s in the past/, /1 min \(60 s\) either way/],
      },
      {
        name: 'an empty body',
        header: sign(SENT),
        body: '',
        expected: { verdict: 'empty_body' },
        says: [/body is empty/, /express\.raw/],
      },
    ])('$name', ({ header, body, overrides, expected, says }) => {
      const result = diagnose(header, body, overrides);

      expect(result).toMatchObject(expected);
      for (const text of says) expect(`${result.title} ${result.explanation} ${result.fix}`).toMatch(text);
      expectNoSecretIn(result, header, body);
    });
  });

  describe('a body a framework changed', () => {
    const reformat = (indent: number) => JSON.stringify(JSON.parse(SENT), null, indent);
    const sorted = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(sorted)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(
              Object.entries(value)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([key, item]) => [key, sorted(item)]),
            )
          : value;
    const asciiOnly = (text: string) =>
      text.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

    it.each<[string, string, string, string]>([
      ['2-space JSON parsed and re-serialised compact', SENT, REPARSED, 'json-indent-2+amount-2dp'],
      ['compact JSON pretty-printed', REPARSED, reformat(2), 'json-compact'],
      ['4-space JSON made compact', reformat(4), REPARSED, 'json-indent-4'],
      [
        'tab-indented JSON made compact',
        JSON.stringify(JSON.parse(SENT), null, '\t'),
        REPARSED,
        'json-indent-tab',
      ],
      [
        'key-sorted JSON in insertion order',
        JSON.stringify(sorted(JSON.parse(SENT))),
        REPARSED,
        'json-compact+sorted',
      ],
      [
        'Python json.dumps output',
        asciiOnly(REPARSED.replace(/,"/g, ', "').replace(/":/g, '": ')),
        REPARSED,
        'json-spaced+ascii',
      ],
      ['escaped slashes (PHP) unescaped', REPARSED.replace(/\//g, '\\/'), REPARSED, 'json-compact+slashes'],
      ['a trailing newline dropped', `${SENT}\n`, SENT, 'trailing-newline-added'],
      ['a trailing newline added', SENT, `${SENT}\n`, 'trailing-newline-removed'],
      ['CRLF turned into LF', SENT.replace(/\n/g, '\r\n'), SENT, 'lf-to-crlf'],
      ['LF turned into CRLF', SENT, SENT.replace(/\n/g, '\r\n'), 'crlf-to-lf'],
      ['a BOM stripped', `\uFEFF${SENT}`, SENT, 'bom-added'],
      ['a BOM added', SENT, `\uFEFF${SENT}`, 'bom-stripped'],
      ['still base64-encoded', SENT, Buffer.from(SENT).toString('base64'), 'base64-decoded'],
      ['URL-encoded', SENT, encodeURIComponent(SENT), 'url-decoded'],
      ['sent as a form field', SENT, `payload=${encodeURIComponent(SENT)}`, 'form-field'],
      ['JSON-encoded twice', SENT, JSON.stringify(SENT), 'json-unwrapped'],
    ])('%s', (_name, signedBody, givenBody, variant) => {
      const header = sign(signedBody);

      const result = diagnose(header, givenBody);

      expect(result).toMatchObject({
        verdict: 'body_reserialised',
        valid: false,
        match: { secretPosition: 1, scheme: 'body', bodyVariant: { id: variant } },
      });
      expect(result.explanation).toContain('The bytes you verify are not the bytes okePay signed');
      expect(result.fix).toMatch(/raw bytes|base64|URL-encoded|JSON-encoded twice/);
      expectNoSecretIn(result, header, givenBody);
    });

    it('says "verify over the raw bytes" and which variant matched', () => {
      const result = diagnose(sign(SENT), REPARSED);

      expect(result.fix).toContain(
        'Your framework parsed and re-serialised the body; verify over the raw bytes',
      );
      expect(result.explanation).toContain(
        'JSON pretty-printed with 2 spaces, the amount written with two decimals',
      );
    });

    it('also names the other scheme when the re-serialised body verifies only under it', () => {
      const result = diagnose(sign(SENT, { scheme: 'timestamp.body' }), REPARSED);

      expect(result).toMatchObject({ verdict: 'body_reserialised', match: { scheme: 'timestamp.body' } });
      expect(result.fix).toContain('OKEPAY_SIGNATURE_SCHEME=timestamp.body');
    });

    it('counts the variants it tried when nothing verifies', () => {
      const result = diagnose(sign(SENT, { secret: OTHER_SECRET }), REPARSED);

      expect(result.verdict).toBe('wrong_secret');
      expect(result.variantsTried).toBeGreaterThan(20);
      expect(result.explanation).toContain(`${result.variantsTried} re-serialised or re-encoded forms`);
    });
  });

  it('refuses to diagnose against no secret at all', () => {
    expect(() => diagnose(sign(SENT), SENT, { secrets: [] })).toThrow(RangeError);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [59, '59 s'],
    [60, '1 min'],
    [452, '7 min 32 s'],
    [-400, '6 min 40 s'],
    [3_600, '1 h'],
    [3_725, '1 h 2 min'],
    [90_061, '1 d 1 h'],
  ])('%i s reads "%s"', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
