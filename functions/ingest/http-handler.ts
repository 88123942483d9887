import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { decodeRawBody } from './raw-body.ts';
import { type ReceiveIpnDeps, receiveIpn } from './receive-ipn.ts';
import { errorResponse, jsonResponse } from './responses.ts';

/** API Gateway v2 lower-cases header names already; done again so a hand-built event behaves alike. */
function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) result[name.toLowerCase()] = value;
  return result;
}

/**
 * The ingest handler's logic over given collaborators: API Gateway event in, response out, never a
 * thrown error. `handler.ts` builds it once with the AWS adapters; tests build it with their own.
 */
export function createIngestHttpHandler(deps: ReceiveIpnDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      const rawBody = decodeRawBody(event.body, event.isBase64Encoded);
      const outcome = await receiveIpn({ headers: lowerCaseHeaders(event.headers), rawBody }, deps);
      return jsonResponse(200, outcome);
    } catch (error) {
      return errorResponse(error, deps.log, deps.metrics);
    }
  };
}
