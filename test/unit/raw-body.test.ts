import { describe, expect, it } from 'vitest';
import { InvalidBodyEncodingError, PayloadTooLargeError } from '../../functions/ingest/errors.ts';
import { decodeRawBody, MAX_BODY_BYTES } from '../../functions/ingest/raw-body.ts';

describe('decodeRawBody', () => {
  it('takes a text body as its UTF-8 bytes', () => {
    expect(decodeRawBody('{"a":"é"}', false)).toEqual(Buffer.from('{"a":"é"}'));
  });

  it('decodes a base64 body to the exact bytes, including ones that are not UTF-8', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
    expect(decodeRawBody(bytes.toString('base64'), true)).toEqual(bytes);
  });

  it('treats a missing body as empty', () => {
    expect(decodeRawBody(undefined, false)).toEqual(Buffer.alloc(0));
  });

  it('accepts a body of exactly 256 KiB and refuses one byte more', () => {
    expect(decodeRawBody('x'.repeat(MAX_BODY_BYTES), false)).toHaveLength(MAX_BODY_BYTES);
    expect(() => decodeRawBody('x'.repeat(MAX_BODY_BYTES + 1), false)).toThrow(PayloadTooLargeError);
  });

  it('counts bytes, not characters', () => {
    expect(() => decodeRawBody('é'.repeat(MAX_BODY_BYTES / 2 + 1), false)).toThrow(PayloadTooLargeError);
  });

  it('refuses an oversized base64 body, measured after decoding', () => {
    const atLimit = Buffer.alloc(MAX_BODY_BYTES, 1).toString('base64');
    expect(decodeRawBody(atLimit, true)).toHaveLength(MAX_BODY_BYTES);
    expect(() => decodeRawBody(Buffer.alloc(MAX_BODY_BYTES + 1, 1).toString('base64'), true)).toThrow(
      PayloadTooLargeError,
    );
  });

  it.each([
    ['characters outside the alphabet', 'e30*'],
    ['a missing padding', 'e30'],
    ['whitespace inside', 'e3 0='],
    ['URL-safe characters', 'ab-_'],
  ])('refuses invalid base64: %s', (_name, body) => {
    expect(() => decodeRawBody(body, true)).toThrow(InvalidBodyEncodingError);
  });
});
