/**
 * Turns a Node HTTP request into the API Gateway HTTP API (payload v2) event a Lambda receives, and
 * the handler's result back into the HTTP response, so the ingest handler runs locally unchanged.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from './aws-servers.ts';

/** API Gateway's own payload limit; the ingest function refuses far smaller bodies itself. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * API Gateway passes text bodies as strings and everything else base64-encoded; JSON that is not
 * valid UTF-8 is passed base64-encoded here so its exact bytes still reach the handler.
 */
function encodeBody(
  bytes: Buffer,
  contentType: string | undefined,
): { body?: string; isBase64Encoded: boolean } {
  if (bytes.length === 0) return { isBase64Encoded: false };
  const textual =
    contentType === undefined || /^(text\/|application\/(json|xml|[\w.+-]+\+json))/i.test(contentType);
  if (textual) {
    try {
      return { body: utf8.decode(bytes), isBase64Encoded: false };
    } catch {
      // Not UTF-8: fall through to base64, as API Gateway does for binary payloads.
    }
  }
  return { body: bytes.toString('base64'), isBase64Encoded: true };
}

export function toHttpApiEvent(
  request: IncomingMessage,
  bytes: Buffer,
  routeKey: string,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  // API Gateway v2 lower-cases header names and joins repeated headers with commas.
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...encodeBody(bytes, headers['content-type']),
  } as APIGatewayProxyEventV2;
}

export function writeHttpApiResult(
  response: ServerResponse,
  result: APIGatewayProxyStructuredResultV2,
): void {
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode ?? 200, {
    ...(result.headers as Record<string, string>),
    'content-length': body.length,
  });
  response.end(body);
}

/** Reads a request body up to `limit` bytes; resolves undefined when it is larger. */
export function readBody(
  request: IncomingMessage,
  limit = API_GATEWAY_MAX_BODY_BYTES,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
