/** Builders for okePay IPN bodies and signed requests, used across the tests. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SignatureScheme, signatureHeader } from '../../functions/shared/ipn/signature.ts';

export const TEST_SECRET = 'whsec_test_5f1c0e6b2a9d4c7e8b3a';
export const OTHER_SECRET = 'whsec_other_0a1b2c3d4e5f';
/** 2026-05-10T12:47:00Z: a fixed "now" for unit tests, 8 s after the samples' occurred_at. */
export const NOW_MS = Date.parse('2026-05-10T12:47:00Z');
export const NOW_SECONDS = NOW_MS / 1000;

export const IPN_SAMPLES_DIR = join(import.meta.dirname, '../../events/ipn');

/** The sample IPN files in `events/ipn/`, as exact bytes, by file name without extension. */
export function ipnSamples(): Map<string, Buffer> {
  const samples = new Map<string, Buffer>();
  for (const file of readdirSync(IPN_SAMPLES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    samples.set(file.replace(/\.json$/, ''), readFileSync(join(IPN_SAMPLES_DIR, file)));
  }
  return samples;
}

/** A JSON number written exactly as given (JSON.stringify would turn 129.90 into 129.9). */
export class RawNumber {
  constructor(readonly text: string) {}
}

export interface IpnFields {
  event?: unknown;
  payment_id?: unknown;
  order_ref?: unknown;
  amount?: unknown;
  currency?: unknown;
  occurred_at?: unknown;
  [extra: string]: unknown;
}

export const DEFAULT_IPN: IpnFields = {
  event: 'payment.succeeded',
  payment_id: 'pay_test_0001',
  order_ref: 'ORDER-1',
  amount: new RawNumber('129.90'),
  currency: 'EUR',
  occurred_at: '2026-05-10T12:46:52Z',
};

/** JSON text of an IPN; fields set to undefined are left out; RawNumber values are written verbatim. */
export function ipnJson(overrides: IpnFields = {}): string {
  const fields: Record<string, unknown> = { ...DEFAULT_IPN, ...overrides };
  const raw = new Map<string, string>();
  const json = JSON.stringify(fields, (_key, value) => {
    if (value instanceof RawNumber) {
      const token = `__raw_number_${raw.size}__`;
      raw.set(token, value.text);
      return token;
    }
    return value;
  });
  return json.replace(/"__raw_number_\d+__"/g, (match) => raw.get(match.slice(1, -1)) ?? match);
}

export interface SignOptions {
  secret?: string;
  timestamp?: number;
  scheme?: SignatureScheme;
}

export function sign(body: Buffer | string, options: SignOptions = {}): string {
  return signatureHeader({
    rawBody: body,
    secret: options.secret ?? TEST_SECRET,
    scheme: options.scheme ?? 'body',
    timestamp: options.timestamp ?? NOW_SECONDS,
  });
}

/** Headers of a signed IPN request, lower-cased as API Gateway HTTP API delivers them. */
export function signedHeaders(body: Buffer | string, options: SignOptions = {}): Record<string, string> {
  return { 'content-type': 'application/json', 'x-okepay-signature': sign(body, options) };
}

/** POSTs a body to a running IPN endpoint, signed now (wall clock) with the test secret. */
export function postSignedIpn(
  url: string,
  body: Buffer | string,
  options: SignOptions = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000), ...options }),
    body,
  });
}
