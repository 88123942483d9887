/**
 * The hash of what an IPN body says, not of its bytes: two bodies that are the same JSON after parsing
 * (key order, whitespace, `129.90` against `129.9`, `1e2` against `100`) hash alike. Dedup calls those
 * redeliveries; any other difference is a new revision of the event.
 *
 * Hand-written rather than a JSON canonicalisation library: RFC 8785 (JCS) serialises numbers as
 * doubles, which would make `9994456683762355345868` and `9994456683762355345867` equal; here every
 * number is compared by its exact decimal value.
 */
import { createHash } from 'node:crypto';
import { isLosslessNumber, parse as parseLosslessJson } from 'lossless-json';

/** The exact decimal value of a JSON number as `[-]digits e exponent`, with no redundant zeros. */
export function canonicalNumber(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return text;
  const [, sign = '', integer = '', fraction = '', exponent = '0'] = match;
  let digits = `${integer}${fraction}`.replace(/^0+/, '');
  let scale = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  const trailing = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  scale += trailing;
  return `${sign}${digits}e${scale}`;
}

function canonical(value: unknown): string {
  if (isLosslessNumber(value)) return canonicalNumber(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The canonical text of a JSON document (key order and number spelling aside). */
export function canonicalJson(body: Buffer | string): string {
  return canonical(parseLosslessJson(typeof body === 'string' ? body : body.toString('utf8')));
}

/** SHA-256 (hex) of the canonical text: equal for bodies that are the same JSON after parsing. */
export function contentSha256(body: Buffer | string): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** As {@link contentSha256}, of a document already parsed with lossless-json (no second parse). */
export function contentSha256OfDocument(document: unknown): string {
  return createHash('sha256').update(canonical(document)).digest('hex');
}
