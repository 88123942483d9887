/**
 * The okePay IPN payload, as okePay's REST API documentation shows it:
 * `{ event, payment_id, order_ref, amount, currency, occurred_at }`, optionally with the cascade's
 * `attempts`. Unknown fields are allowed and kept (the stored raw body is the record).
 */
import { isLosslessNumber, type LosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import * as z from 'zod';
import { currencyMinorUnits } from './currency.ts';
import { InvalidPayloadError, type PayloadIssue } from './errors.ts';
import { DECIMAL_AMOUNT, isWholeMinorUnits, MAX_MINOR_UNIT_DIGITS, toMinorUnits } from './money.ts';

export const KNOWN_IPN_EVENTS = [
  'payment.pending',
  'payment.succeeded',
  'payment.failed',
  'payment.refunded',
  'payment.chargeback',
] as const;
export type KnownIpnEvent = (typeof KNOWN_IPN_EVENTS)[number];

/*
 * Bounds. Every field the canonical event copies from the payload is bounded, so that the canonical
 * event always fits in a PutEvents entry even when `raw` has to be left out (see the worst-case test in
 * test/unit/normalise.test.ts). A body outside them is answered 400 with the reason.
 */
export const MAX_EVENT_NAME_LENGTH = 64;
export const MAX_ORDER_REF_LENGTH = 127;
export const MAX_PAYMENT_ID_LENGTH = 128;
export const MAX_ATTEMPTS = 32;
export const MAX_ATTEMPT_NUMBER = 9999;
export const MAX_ACQUIRER_LENGTH = 128;
export const MAX_ATTEMPT_RESULT_LENGTH = 64;
export const MAX_ATTEMPT_CODE_LENGTH = 64;
/**
 * Integer digits of an amount. Together with {@link MAX_MINOR_UNIT_DIGITS} (which binds only for the
 * 4-digit CLF and UYW: 11 integer digits there), every amount is exact as a JS number of minor units.
 */
const MAX_INTEGER_DIGITS = 12;
/**
 * How deep a body may nest. PutEvents processes JSON "up to 1000 levels deep" and the IPN travels as
 * `detail.raw`; no genuine IPN comes near this, and bounding it keeps the recursive parser far from
 * its stack limit.
 */
export const MAX_NESTING_DEPTH = 64;
/**
 * The instants the canonical event's ISO 8601 UTC form can carry: `occurred_at` with an offset can
 * fall outside the 4-digit years (`9999-12-31T23:59:59-23:59` is in year 10000).
 */
const EARLIEST_INSTANT = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

const losslessNumber = z.custom<LosslessNumber>(isLosslessNumber, { message: 'expected a number' });

/**
 * Printable ASCII without spaces, quotes or backslashes: the ids end up in DynamoDB keys, EventBridge
 * rules and the audit logs' templates.
 */
const identifier = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be printable ASCII without spaces, quotes or backslashes');

/**
 * The amount keeps the exact decimal text okePay sent. JSON numbers are read by lossless-json, so
 * 129.90 is "129.90", never the float 129.9; a decimal string is accepted too.
 */
const amount = z
  .union([losslessNumber.transform((n) => n.toString()), z.string()], {
    error: 'must be a decimal number, e.g. 129.90',
  })
  .superRefine((text, ctx) => {
    if (text.startsWith('-')) {
      ctx.addIssue({ code: 'custom', message: 'must not be negative' });
    } else if (!DECIMAL_AMOUNT.test(text)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a plain decimal with a period as separator, e.g. 129.90 (no exponent)',
      });
    } else if ((text.split('.')[0]?.length ?? 0) > MAX_INTEGER_DIGITS) {
      ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_INTEGER_DIGITS} integer digits` });
    }
  });

/** With the `u` flag, a surrogate code unit matches only when it is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Text the canonical event copies: bounded, and well-formed Unicode. A `\ud800` escape in the JSON
 * makes a lone surrogate, which has no UTF-8 form (DynamoDB keys and EventBridge need one).
 */
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (no lone surrogate)');

const attempt = z.looseObject({
  n: losslessNumber
    .transform((n) => Number(n.toString()))
    .pipe(
      z
        .number()
        .int('must be a whole number')
        .min(1, 'must be 1 or more')
        .max(MAX_ATTEMPT_NUMBER, `must be at most ${MAX_ATTEMPT_NUMBER}`),
    ),
  acquirer: text(MAX_ACQUIRER_LENGTH).min(1, 'must not be empty'),
  result: text(MAX_ATTEMPT_RESULT_LENGTH).min(1, 'must not be empty'),
  code: z
    .union([z.string(), losslessNumber.transform((n) => n.toString())])
    .pipe(text(MAX_ATTEMPT_CODE_LENGTH))
    .optional(),
});

export const ipnPayloadSchema = z
  .looseObject({
    event: z
      .string()
      .max(MAX_EVENT_NAME_LENGTH, `must be at most ${MAX_EVENT_NAME_LENGTH} characters`)
      .regex(/^payment\.[a-z0-9_.-]+$/, 'must be a payment.* event name such as payment.succeeded'),
    payment_id: identifier(MAX_PAYMENT_ID_LENGTH),
    order_ref: text(MAX_ORDER_REF_LENGTH)
      .min(1, 'must not be empty')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
      .regex(/^[^\u0000-\u001F\u007F]+$/, 'must not contain control characters'),
    amount,
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an upper-case ISO 4217 code such as EUR')
      .refine((code) => currencyMinorUnits(code) !== undefined, 'is not an ISO 4217 payment currency'),
    occurred_at: z.iso
      .datetime({
        offset: true,
        error: 'must be an ISO 8601 date-time, e.g. 2026-05-10T12:46:52Z',
      })
      .refine((value) => {
        const instant = Date.parse(value);
        return instant >= EARLIEST_INSTANT && instant <= LATEST_INSTANT;
      }, 'must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC'),
    attempts: z.array(attempt).max(MAX_ATTEMPTS, `must list at most ${MAX_ATTEMPTS} attempts`).optional(),
  })
  .superRefine((payload, ctx) => {
    const { amount: sent, currency } = payload;
    const digits = currencyMinorUnits(currency);
    if (digits === undefined || !DECIMAL_AMOUNT.test(sent)) return;
    if (!isWholeMinorUnits(sent, digits)) {
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `${currency} allows at most ${digits} decimal digits other than trailing zeros; ${sent} is not a whole number of its minor unit`,
      });
    } else if (toMinorUnits(sent, digits).toString().length > MAX_MINOR_UNIT_DIGITS) {
      const limit = `1${'0'.repeat(MAX_MINOR_UNIT_DIGITS - digits)}`;
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `${currency} amounts must be below ${limit}: at most ${MAX_MINOR_UNIT_DIGITS} digits in minor units, so that minorUnits is an exact integer`,
      });
    }
  });

export type IpnPayload = z.output<typeof ipnPayloadSchema>;
export type IpnAttempt = z.output<typeof attempt>;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/**
 * Whether JSON text opens more than `max` arrays and objects inside one another. A scan of the text
 * rather than of the parsed value, so a hostile body never reaches the recursive parser; malformed JSON
 * is left for the parser to report.
 */
function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      depth++;
      if (depth > max) return true;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Decodes, parses and validates a raw IPN body; throws {@link InvalidPayloadError} with every issue. */
export function parseIpnBody(rawBody: Buffer): IpnPayload {
  return parseIpnDocument(rawBody).payload;
}

/**
 * As {@link parseIpnBody}, and the parsed document too (lossless numbers), so a caller that needs it
 * (the content hash of the ingest) does not parse the body a second time.
 */
export function parseIpnDocument(rawBody: Buffer): { payload: IpnPayload; document: object } {
  if (rawBody.subarray(0, 3).equals(UTF8_BOM)) {
    throw new InvalidPayloadError([
      { path: '', message: 'body starts with a UTF-8 byte order mark; send plain JSON without a BOM' },
    ]);
  }
  let text: string;
  try {
    text = utf8.decode(rawBody);
  } catch (error) {
    throw new InvalidPayloadError([{ path: '', message: 'body is not valid UTF-8' }], { cause: error });
  }
  if (nestsDeeperThan(text, MAX_NESTING_DEPTH)) {
    throw new InvalidPayloadError([
      { path: '', message: `body nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep` },
    ]);
  }
  let document: unknown;
  try {
    document = parseLosslessJson(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidPayloadError([{ path: '', message: `body is not valid JSON: ${reason}` }], {
      cause: error,
    });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new InvalidPayloadError([{ path: '', message: 'body must be a JSON object' }]);
  }
  const result = ipnPayloadSchema.safeParse(document);
  if (!result.success) {
    const issues: PayloadIssue[] = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
    }));
    throw new InvalidPayloadError(issues, { cause: result.error });
  }
  return { payload: result.data, document };
}
