import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway HTTP API (payload v2) event for `POST /okepay/ipn`, as Lambda receives it. */
export function httpApiEvent(
  body: Buffer | string,
  headers: Record<string, string>,
  options: { base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return {
    version: '2.0',
    routeKey: 'POST /okepay/ipn',
    rawPath: '/okepay/ipn',
    rawQueryString: '',
    headers: { 'user-agent': 'okePay-Webhooks/1.0', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      domainName: 'test.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'test',
      http: {
        method: 'POST',
        path: '/okepay/ipn',
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'okePay-Webhooks/1.0',
      },
      requestId: 'test-request',
      routeKey: 'POST /okepay/ipn',
      stage: '$default',
      time: '10/May/2026:12:47:00 +0000',
      timeEpoch: Date.parse('2026-05-10T12:47:00Z'),
    },
    body: options.base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: options.base64 ?? false,
  };
}
