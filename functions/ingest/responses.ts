import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidPayloadError, SignatureVerificationError } from '../shared/ipn/errors.ts';
import { type Log, METRICS, type MetricSink } from '../shared/observability.ts';
import { QueueUnavailableError } from '../shared/queue/errors.ts';
import { WebhookSecretsUnavailableError } from '../shared/secrets/webhook-secrets.ts';
import { StoreUnavailableError } from '../shared/store/errors.ts';
import { InvalidBodyEncodingError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.ts';

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

/**
 * A caller outside `allowedSourceCidrs`. The address is the caller's own, so naming it helps whoever
 * tests the endpoint and tells an attacker nothing new; the list itself stays out of the answer.
 */
export function sourceRefusedResponse(
  sourceIp: string | undefined,
  log: Log,
  metrics: MetricSink,
): APIGatewayProxyStructuredResultV2 {
  metrics.addMetric(METRICS.ipnSourceRefused, 'Count', 1);
  log.warn('Refused a request: source address not in allowedSourceCidrs', { sourceIp });
  return jsonResponse(403, {
    error: 'forbidden_source',
    message: `Requests from ${sourceIp ? `"${sourceIp}"` : 'an unknown address'} are not accepted by this endpoint`,
  });
}

/**
 * Maps what went wrong to an HTTP answer. Client errors (4xx) tell okePay, or whoever is testing the
 * endpoint, what to fix; okePay does not retry them. Everything else is a 5xx so okePay retries: an
 * event is never answered 2xx unless it is stored and enqueued. Exception details stay in the logs.
 */
export function errorResponse(
  error: unknown,
  log: Log,
  metrics: MetricSink,
): APIGatewayProxyStructuredResultV2 {
  if (error instanceof SignatureVerificationError) {
    log.warn('Refused an IPN: signature', { reason: error.reason });
    return jsonResponse(401, { error: 'invalid_signature', reason: error.reason, message: error.message });
  }
  if (error instanceof PayloadTooLargeError) {
    log.warn('Refused an IPN: body too large', { sizeBytes: error.sizeBytes });
    return jsonResponse(413, { error: 'payload_too_large', message: error.message });
  }
  if (error instanceof InvalidBodyEncodingError) {
    return jsonResponse(400, { error: 'invalid_body_encoding', message: error.message });
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return jsonResponse(415, { error: 'unsupported_media_type', message: error.message });
  }
  if (error instanceof InvalidPayloadError) {
    return jsonResponse(400, { error: 'invalid_payload', errors: error.issues });
  }
  metrics.addMetric(METRICS.ingestDependencyFailure, 'Count', 1);
  if (
    error instanceof StoreUnavailableError ||
    error instanceof QueueUnavailableError ||
    error instanceof WebhookSecretsUnavailableError
  ) {
    log.error('IPN not accepted: a dependency failed; okePay will retry', { error });
    return jsonResponse(503, {
      error: 'temporarily_unavailable',
      message: 'The IPN was not accepted; retry later',
    });
  }
  log.error('IPN not accepted: unexpected error; okePay will retry', { error });
  return jsonResponse(500, { error: 'internal_error', message: 'The IPN was not accepted; retry later' });
}
