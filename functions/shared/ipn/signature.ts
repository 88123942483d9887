/**
 * okePay IPN signature: `X-Okepay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.
 *
 * Shaped like the Standard Webhooks verifier and stripe-node's `Webhooks`: small named steps (parse
 * the header, build the signed content, compare), an injectable clock, one error type whose `reason`
 * says what to fix. Unlike stripe-node, the timestamp tolerance is two-sided: a timestamp far in the
 * future is as suspicious as one far in the past.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureVerificationError } from './errors.ts';

export const SIGNATURE_HEADER = 'x-okepay-signature';

/**
 * `body`: v1 = HMAC(secret, rawBody), as okePay's REST API documentation states.
 * `timestamp.body`: v1 = HMAC(secret, `${t}.` + rawBody), which also binds the timestamp.
 */
export type SignatureScheme = 'body' | 'timestamp.body';
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = ['body', 'timestamp.body'];

export interface VerifySignatureOptions {
  /** The header value, or undefined when the request had none. */
  header: string | undefined;
  rawBody: Buffer;
  /** Every currently valid secret; during rotation both the old and the new one. */
  secrets: readonly string[];
  scheme: SignatureScheme;
  toleranceSeconds: number;
  /** Current time in milliseconds since the epoch. */
  nowMs: number;
}

export interface ParsedSignatureHeader {
  timestamp: number;
  signatures: string[];
}

/** 32-byte HMAC-SHA256 as 64 hex digits. */
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^\d{1,12}$/;
/** A header longer than this is not a signature header; refuse before splitting it. */
const MAX_HEADER_LENGTH = 4096;

export function parseSignatureHeader(header: string | undefined): ParsedSignatureHeader {
  if (header === undefined || header.trim() === '') {
    throw new SignatureVerificationError(
      'missing_signature',
      'No X-Okepay-Signature header. okePay signs every IPN; is the request coming from okePay?',
    );
  }
  if (header.length > MAX_HEADER_LENGTH) {
    throw new SignatureVerificationError('malformed_signature', 'X-Okepay-Signature header is too long.');
  }
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator === -1) {
      throw new SignatureVerificationError(
        'malformed_signature',
        'X-Okepay-Signature must be a comma-separated list of key=value pairs, e.g. t=1715342812,v1=8f3c...',
      );
    }
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined) {
        throw new SignatureVerificationError(
          'malformed_signature',
          'X-Okepay-Signature has more than one t.',
        );
      }
      timestamp = value;
    } else if (key === 'v1') {
      signatures.push(value);
    }
    // Other keys (future schemes such as v2) are ignored, as Standard Webhooks and Stripe do, so a
    // sender can add a scheme without breaking receivers that do not know it yet.
  }
  if (timestamp === undefined || !UNIX_SECONDS.test(timestamp)) {
    throw new SignatureVerificationError(
      'malformed_signature',
      'X-Okepay-Signature has no valid t=<unix seconds> timestamp.',
    );
  }
  if (signatures.length === 0) {
    throw new SignatureVerificationError('malformed_signature', 'X-Okepay-Signature has no v1 signature.');
  }
  return { timestamp: Number(timestamp), signatures };
}

export function signedContent(scheme: SignatureScheme, timestamp: number, rawBody: Buffer): Buffer {
  return scheme === 'body' ? rawBody : Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]);
}

export function computeSignature(secret: string, content: Buffer): Buffer {
  return createHmac('sha256', secret).update(content).digest();
}

/** Constant-time comparison of a hex signature with the expected digest; false for bad hex or length. */
export function signatureMatches(candidateHex: string, expected: Buffer): boolean {
  if (!HEX_SHA256.test(candidateHex)) return false;
  const candidate = Buffer.from(candidateHex, 'hex');
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** What a valid signature tells: its timestamp, and which configured secret produced it. */
export interface SignatureMatch {
  /** Unix seconds, from `t`. */
  timestamp: number;
  /**
   * 0-based position in `secrets` of the first secret that verifies: during a rotation it tells when the
   * old secret has stopped being used. Never the secret itself.
   */
  secretIndex: number;
}

/**
 * Verifies an IPN signature. Returns its timestamp and the position of the matching secret when valid;
 * throws {@link SignatureVerificationError} with a `reason` otherwise.
 */
export function verifySignatureMatch(options: VerifySignatureOptions): SignatureMatch {
  const { timestamp, signatures } = parseSignatureHeader(options.header);
  const nowSeconds = Math.floor(options.nowMs / 1000);
  if (Math.abs(nowSeconds - timestamp) > options.toleranceSeconds) {
    throw new SignatureVerificationError(
      'timestamp_outside_tolerance',
      `Signature timestamp is ${nowSeconds - timestamp}s away from now; at most ${options.toleranceSeconds}s ` +
        'either way is accepted. Check the clocks, or whether this is a replayed request.',
    );
  }
  const content = signedContent(options.scheme, timestamp, options.rawBody);
  // Every secret is tried against every v1 without an early exit on the first miss, so the time taken
  // does not tell which secret or which signature came close.
  let secretIndex = -1;
  for (const [index, secret] of options.secrets.entries()) {
    const expected = computeSignature(secret, content);
    for (const candidate of signatures) {
      if (signatureMatches(candidate, expected) && secretIndex === -1) secretIndex = index;
    }
  }
  if (secretIndex === -1) {
    throw new SignatureVerificationError(
      'no_matching_signature',
      'No v1 signature matches the body under any configured webhook secret. Are you verifying the raw ' +
        `request body, with the right secret and the "${options.scheme}" signature scheme?`,
    );
  }
  return { timestamp, secretIndex };
}

/**
 * Verifies an IPN signature. Returns the signature timestamp (unix seconds) when valid; throws
 * {@link SignatureVerificationError} with a `reason` otherwise.
 */
export function verifySignature(options: VerifySignatureOptions): number {
  return verifySignatureMatch(options).timestamp;
}

export interface SignOptions {
  rawBody: Buffer | string;
  secret: string;
  scheme: SignatureScheme;
  /** Unix seconds. */
  timestamp: number;
}

/** Builds an `X-Okepay-Signature` value; used by the CLI's `sign`/`send` commands and by tests. */
export function signatureHeader(options: SignOptions): string {
  const body = typeof options.rawBody === 'string' ? Buffer.from(options.rawBody) : options.rawBody;
  const digest = computeSignature(options.secret, signedContent(options.scheme, options.timestamp, body));
  return `t=${options.timestamp},v1=${digest.toString('hex')}`;
}
