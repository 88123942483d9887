/**
 * The okePay IPN payload, as okePay's REST API documentation shows it:
 * `{ event, payment_id, order_ref, amount, currency, occurred_at }`, optionally with the cascade's
 * `attempts`. Unknown fields are allowed and kept (the stored raw body is the record).
 */
import { isLosslessNumber, type LosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import * as z from 'zod';
import { currencyMinorUnits } from './currency.ts';
import { InvalidPayloadError, type PayloadIssue } from './errors.ts';
import { DECIMAL_AMOUNT, fractionDigits } from './money.ts';

export const KNOWN_IPN_EVENTS = [
  'payment.pending',
  'payment.succeeded',
  'payment.failed',
  'payment.refunded',
  'payment.chargeback',
] as const;
export type KnownIpnEvent = (typeof KNOWN_IPN_EVENTS)[number];

export const MAX_ORDER_REF_LENGTH = 127;
export const MAX_PAYMENT_ID_LENGTH = 128;
/**
 * 12 integer digits plus at most 3 minor digits stay below 2^53, so every valid amount is also exact as
 * a JSON number and as a JS number of minor units.
 */
const MAX_INTEGER_DIGITS = 12;

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

const attempt = z.looseObject({
  n: losslessNumber
    .transform((n) => Number(n.toString()))
    .pipe(z.number().int('must be a whole number').min(1, 'must be 1 or more')),
  acquirer: z.string().min(1, 'must not be empty').max(128),
  result: z.string().min(1, 'must not be empty').max(64),
  code: z.union([z.string(), losslessNumber.transform((n) => n.toString())]).optional(),
});

export const ipnPayloadSchema = z
  .looseObject({
    event: z
      .string()
      .max(64, 'must be at most 64 characters')
      .regex(/^payment\.[a-z0-9_.-]+$/, 'must be a payment.* event name such as payment.succeeded'),
    payment_id: identifier(MAX_PAYMENT_ID_LENGTH),
    order_ref: z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_ORDER_REF_LENGTH, `must be at most ${MAX_ORDER_REF_LENGTH} characters`)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
      .regex(/^[^\u0000-\u001F\u007F]+$/, 'must not contain control characters'),
    amount,
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an upper-case ISO 4217 code such as EUR')
      .refine((code) => currencyMinorUnits(code) !== undefined, 'is not an ISO 4217 payment currency'),
    occurred_at: z.iso.datetime({
      offset: true,
      error: 'must be an ISO 8601 date-time, e.g. 2026-05-10T12:46:52Z',
    }),
    attempts: z.array(attempt).max(32).optional(),
  })
  .superRefine((payload, ctx) => {
    const digits = currencyMinorUnits(payload.currency);
    if (digits !== undefined && fractionDigits(payload.amount) > digits) {
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message: `${payload.currency} allows at most ${digits} decimal digits`,
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

/** Decodes, parses and validates a raw IPN body; throws {@link InvalidPayloadError} with every issue. */
export function parseIpnBody(rawBody: Buffer): IpnPayload {
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
  return result.data;
}
