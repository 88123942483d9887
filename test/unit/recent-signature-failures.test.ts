import { describe, expect, it } from 'vitest';
import {
  RecentSignatureFailures,
  type RefusedRequest,
  recordIfSignatureRefused,
  type SignatureSettings,
  signatureFailureLine,
  signatureFailureOf,
  signatureSettingsFromEnv,
} from '../../functions/local/recent-signature-failures.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ipnJson, NOW_MS, NOW_SECONDS, OTHER_SECRET, sign, TEST_SECRET } from '../helpers/ipn.ts';

const SETTINGS: SignatureSettings = { secrets: [TEST_SECRET], scheme: 'body', toleranceSeconds: 300 };
const BODY = ipnJson();

function refused(overrides: Partial<RefusedRequest> = {}): RefusedRequest {
  return {
    receivedAtMs: NOW_MS,
    method: 'POST',
    path: '/okepay/ipn',
    headers: {
      'content-type': 'application/json',
      'x-okepay-signature': sign(BODY, { secret: OTHER_SECRET }),
    },
    rawBody: Buffer.from(BODY),
    status: 401,
    responseBody: '{"error":"invalid_signature","reason":"no_matching_signature"}',
    ...overrides,
  };
}

describe('RecentSignatureFailures', () => {
  it('keeps the last `capacity` failures, newest first, numbered in arrival order', () => {
    const failures = new RecentSignatureFailures({ capacity: 3 });

    for (let n = 0; n < 5; n++) failures.add(signatureFailureOf(refused({ path: `/${n}` }), SETTINGS));

    expect(failures.list().map((failure) => [failure.id, failure.path])).toEqual([
      [5, '/4'],
      [4, '/3'],
      [3, '/2'],
    ]);
  });

  it('streams each new failure to its listeners until they unsubscribe', () => {
    const failures = new RecentSignatureFailures();
    const seen: number[] = [];
    const stop = failures.onAdd((failure) => seen.push(failure.id));

    failures.add(signatureFailureOf(refused(), SETTINGS));
    stop();
    failures.add(signatureFailureOf(refused(), SETTINGS));

    expect(seen).toEqual([1]);
    expect(failures.list()).toHaveLength(2);
  });

  it('reports a throwing listener and still records and notifies the others', () => {
    const errors: unknown[] = [];
    const failures = new RecentSignatureFailures({ onError: (error) => errors.push(error) });
    const seen: number[] = [];
    failures.onAdd(() => {
      throw new Error('viewer bug');
    });
    failures.onAdd((failure) => seen.push(failure.id));

    failures.add(signatureFailureOf(refused(), SETTINGS));

    expect(errors).toEqual([new Error('viewer bug')]);
    expect(seen).toEqual([1]);
  });
});

describe('signatureFailureOf', () => {
  it('keeps the request with the diagnosis, the reason and the time it was received', () => {
    const failure = signatureFailureOf(refused(), SETTINGS);

    expect(failure).toMatchObject({
      receivedAt: '2026-05-10T12:47:00.000Z',
      method: 'POST',
      path: '/okepay/ipn',
      body: BODY,
      bodyEncoding: 'utf8',
      bodyBytes: BODY.length,
      bodyTruncated: false,
      response: { status: 401, reason: 'no_matching_signature' },
      diagnosis: { verdict: 'wrong_secret' },
    });
    expect(failure.headers['x-okepay-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('measures the skew from when the request was received', () => {
    const header = sign(BODY, { timestamp: NOW_SECONDS - 400 });
    const failure = signatureFailureOf(refused({ headers: { 'x-okepay-signature': header } }), SETTINGS);

    expect(failure.diagnosis).toMatchObject({ verdict: 'clock_skew', skewSeconds: 400 });
  });

  it('cuts the body at the cap but diagnoses the whole of it', () => {
    const big = ipnJson({ note: 'x'.repeat(5_000) });
    const failure = signatureFailureOf(
      refused({ rawBody: Buffer.from(big), headers: { 'x-okepay-signature': sign(big, { timestamp: 1 }) } }),
      SETTINGS,
      1_024,
    );

    expect(failure).toMatchObject({ bodyBytes: big.length, bodyTruncated: true });
    expect(failure.body).toBe(big.slice(0, 1_024));
    expect(failure.diagnosis.verdict).toBe('clock_skew');
  });

  it('keeps a body that is not UTF-8 as base64, exactly', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x7b, 0x7d]);
    const failure = signatureFailureOf(refused({ rawBody: bytes }), SETTINGS);

    expect(failure).toMatchObject({ bodyEncoding: 'base64', body: bytes.toString('base64') });
  });

  it('redacts credential headers and never holds a secret', () => {
    const failure = signatureFailureOf(
      refused({
        headers: { authorization: 'Bearer abc', cookie: 'session=1', 'x-okepay-signature': 't=1,v1=x' },
      }),
      { ...SETTINGS, secrets: [TEST_SECRET, OTHER_SECRET] },
    );

    expect(failure.headers).toMatchObject({ authorization: '(redacted)', cookie: '(redacted)' });
    const text = JSON.stringify(failure) + signatureFailureLine({ ...failure, id: 1 });
    expect(text).not.toContain(TEST_SECRET);
    expect(text).not.toContain(OTHER_SECRET);
  });
});

describe('recordIfSignatureRefused', () => {
  const event = httpApiEvent(BODY, { 'x-okepay-signature': sign(BODY, { secret: OTHER_SECRET }) });

  it.each([200, 400, 413, 503])('ignores an answer %i', (statusCode) => {
    const failures = new RecentSignatureFailures();

    recordIfSignatureRefused(failures, SETTINGS, {
      event,
      rawBody: Buffer.from(BODY),
      result: { statusCode },
    });

    expect(failures.list()).toEqual([]);
  });

  it('records a 401 with its diagnosis', () => {
    const failures = new RecentSignatureFailures();

    recordIfSignatureRefused(failures, SETTINGS, {
      event,
      rawBody: Buffer.from(BODY),
      result: { statusCode: 401, body: '{"error":"invalid_signature","reason":"no_matching_signature"}' },
    });

    expect(failures.list()).toMatchObject([
      {
        id: 1,
        response: { status: 401, reason: 'no_matching_signature' },
        diagnosis: { verdict: 'wrong_secret' },
      },
    ]);
  });

  it('reports a failure to record instead of throwing', () => {
    const errors: unknown[] = [];
    const failures = new RecentSignatureFailures({ onError: (error) => errors.push(error) });

    recordIfSignatureRefused(
      failures,
      { ...SETTINGS, secrets: [] },
      {
        event,
        rawBody: Buffer.from(BODY),
        result: { statusCode: 401 },
      },
    );

    expect(errors).toHaveLength(1);
    expect(failures.list()).toEqual([]);
  });
});

describe('signatureSettingsFromEnv', () => {
  it('reads the scheme and tolerance as the ingest function does, with its defaults', () => {
    expect(signatureSettingsFromEnv([TEST_SECRET], {})).toEqual({
      secrets: [TEST_SECRET],
      scheme: 'body',
      toleranceSeconds: 300,
    });
    expect(
      signatureSettingsFromEnv([TEST_SECRET], {
        OKEPAY_SIGNATURE_SCHEME: 'timestamp.body',
        OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '60',
      }),
    ).toMatchObject({ scheme: 'timestamp.body', toleranceSeconds: 60 });
  });
});
