import { InvalidBodyEncodingError, PayloadTooLargeError } from './errors.ts';

/** okePay IPNs are small JSON documents; anything past this is refused before it is read further. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Strict base64 (RFC 4648 alphabet, correct padding). Node's decoder silently skips bad characters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The exact bytes the client sent, from an API Gateway body: decoded from base64 when API Gateway
 * flagged it so, otherwise the UTF-8 bytes of the string (API Gateway passes text bodies as is).
 */
export function decodeRawBody(
  body: string | undefined,
  isBase64Encoded: boolean,
  limitBytes = MAX_BODY_BYTES,
): Buffer {
  const text = body ?? '';
  if (!isBase64Encoded) {
    const size = Buffer.byteLength(text);
    if (size > limitBytes) throw new PayloadTooLargeError(size, limitBytes);
    return Buffer.from(text);
  }
  // Check the size before decoding: 4 base64 characters carry 3 bytes.
  const decodedSize = Math.floor((text.length * 3) / 4);
  if (decodedSize > limitBytes + 2) throw new PayloadTooLargeError(decodedSize, limitBytes);
  if (!BASE64.test(text)) {
    throw new InvalidBodyEncodingError('The body is flagged base64-encoded but is not valid base64');
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > limitBytes) throw new PayloadTooLargeError(bytes.length, limitBytes);
  return bytes;
}
