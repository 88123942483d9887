/**
 * EventBridge's wire protocol as AWS SDK v3 speaks it (awsJson1_1): `POST /` with
 * `X-Amz-Target: AWSEvents.<Operation>` and a JSON body. Errors are JSON `{"__type", "message"}`: the SDK
 * picks the exception class from `__type`, and decides retries from the type (ThrottlingException is a
 * throttling error) and the HTTP status (500 is transient).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const AMZ_JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'AWSEvents.';

export type JsonObject = { [key: string]: unknown };

/** An error answered to the client as `{"__type": code, "message": message}` with `status`. */
export class AwsJsonError extends Error {
  override readonly name = 'AwsJsonError';
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function validationError(message: string): AwsJsonError {
  return new AwsJsonError('ValidationException', message);
}

export function serializationError(message: string): AwsJsonError {
  return new AwsJsonError('SerializationException', message);
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operation named by `X-Amz-Target`, e.g. `PutEvents`. */
export function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    throw new AwsJsonError('UnknownOperationException', `X-Amz-Target must be ${TARGET_PREFIX}<Operation>`);
  }
  return target.slice(TARGET_PREFIX.length);
}

/**
 * Reads the whole body. An oversized body is still drained, not cut off, so the client reads our answer
 * instead of a reset connection.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) {
    throw new AwsJsonError('ValidationException', `Request body is over ${maxBytes} bytes`, 413);
  }
  return Buffer.concat(chunks);
}

export function parseInput(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw serializationError(`Request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(input)) throw serializationError('Request body must be a JSON object');
  return input;
}

export function sendResult(response: ServerResponse, body: unknown, requestId: string): void {
  send(response, 200, body, requestId);
}

export function sendError(response: ServerResponse, error: AwsJsonError, requestId: string): void {
  send(response, error.status, { __type: error.code, message: error.message }, requestId);
}

function send(response: ServerResponse, status: number, body: unknown, requestId: string): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': AMZ_JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': requestId,
  });
  response.end(payload);
}

// --- reading input fields: a wrong JSON type is a SerializationException, as AWS answers it ------------

export function optionalString(input: JsonObject, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serializationError(`${key} must be a string`);
  return value;
}

export function optionalNumber(input: JsonObject, key: string): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw serializationError(`${key} must be a number`);
  return value;
}

export function requiredString(input: JsonObject, key: string): string {
  const value = optionalString(input, key);
  if (value === undefined || value === '') {
    throw validationError(
      `1 validation error detected: Value null at '${lowerFirst(key)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
