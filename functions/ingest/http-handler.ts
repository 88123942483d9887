import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type Log, METRICS, type MetricSink } from '../shared/observability.ts';
import { IngestDeadlineExceededError } from './errors.ts';
import { decodeRawBody } from './raw-body.ts';
import { type IpnOutcome, type ReceiveIpnDeps, receiveIpn } from './receive-ipn.ts';
import { errorResponse, jsonResponse, sourceRefusedResponse } from './responses.ts';
import type { SourceAllowlist } from './source-allowlist.ts';

/**
 * Default of {@link IngestHttpOptions.deadlineMs}: well inside the ingest Lambda's default 15 s
 * timeout and API Gateway's 30 s, and long enough for the usual three to four AWS calls even when each
 * one needs its second attempt (shared/clients/request-handler.ts has the arithmetic).
 */
export const DEFAULT_INGEST_DEADLINE_MS = 10_000;

/** Kept back from a Lambda's remaining time, so the 503 leaves before the function times out. */
const LAMBDA_MARGIN_MS = 1_000;

export interface IngestHttpOptions {
  /**
   * Milliseconds after which the request is answered 503 `temporarily_unavailable` even if an AWS call
   * is still pending. Default {@link DEFAULT_INGEST_DEADLINE_MS}; when the handler is given a Lambda
   * context, the deadline is also kept 1 s inside the remaining time (the stack allows a 3 s timeout).
   */
  deadlineMs?: number;
  /**
   * Callers allowed to post IPNs, checked against `requestContext.http.sourceIp` before anything else;
   * absent, every address may.
   */
  allowedSources?: SourceAllowlist;
}

/** API Gateway v2 lower-cases header names already; done again so a hand-built event behaves alike. */
function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) result[name.toLowerCase()] = value;
  return result;
}

/**
 * `work`, or IngestDeadlineExceededError after `deadlineMs`. The work is not cancelled (the adapters
 * take no abort signal): it goes on, and what it does later is only logged.
 *
 * Answering 503 while a put or an enqueue may still complete is safe because only a 2xx promises
 * anything, and okePay retries a 503. If the late put lands, the retry finds the item unpublished and
 * enqueues it again; if the late enqueue lands too, the consumer publishes the event once and skips the
 * other message as already published (the same redelivery it handles when SQS delivers twice). Nothing
 * is lost either way. In Lambda the environment is frozen once the 503 is returned, so the late outcome
 * is logged during a later invocation.
 */
function withinDeadline(work: Promise<IpnOutcome>, deadlineMs: number, log: Log): Promise<IpnOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      work.then(
        (outcome) =>
          log.warn('An IPN answered 503 at the deadline was processed afterwards', {
            outcome: outcome.status,
          }),
        (error) => log.warn('An IPN answered 503 at the deadline failed afterwards', { error }),
      );
      reject(new IngestDeadlineExceededError(deadlineMs));
    }, deadlineMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The same answer as a failed dependency (responses.ts), since to okePay it is the same thing. */
function deadlineResponse(error: IngestDeadlineExceededError, log: Log, metrics: MetricSink) {
  metrics.addMetric(METRICS.ingestDependencyFailure, 'Count', 1);
  log.error('IPN not accepted: an AWS call did not finish before the deadline; okePay will retry', {
    deadlineMs: error.deadlineMs,
  });
  return jsonResponse(503, {
    error: 'temporarily_unavailable',
    message: 'The IPN was not accepted; retry later',
  });
}

/**
 * The ingest handler's logic over given collaborators: API Gateway event (and, in Lambda, its context)
 * in, response out, never a thrown error. `handler.ts` builds it once with the AWS adapters; tests
 * build it with their own.
 */
export function createIngestHttpHandler(deps: ReceiveIpnDeps, options: IngestHttpOptions = {}) {
  const deadlineMs = options.deadlineMs ?? DEFAULT_INGEST_DEADLINE_MS;
  const { allowedSources } = options;
  return async (
    event: APIGatewayProxyEventV2,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    // First, so a caller outside the list costs no secret read, no body decoding, no AWS call.
    const sourceIp = event.requestContext?.http?.sourceIp;
    if (allowedSources && !allowedSources.allows(sourceIp)) {
      return sourceRefusedResponse(sourceIp, deps.log, deps.metrics);
    }
    const budgetMs = context
      ? Math.max(0, Math.min(deadlineMs, context.getRemainingTimeInMillis() - LAMBDA_MARGIN_MS))
      : deadlineMs;
    try {
      const rawBody = decodeRawBody(event.body, event.isBase64Encoded);
      const work = receiveIpn({ headers: lowerCaseHeaders(event.headers), rawBody }, deps);
      return jsonResponse(200, await withinDeadline(work, budgetMs, deps.log));
    } catch (error) {
      if (error instanceof IngestDeadlineExceededError)
        return deadlineResponse(error, deps.log, deps.metrics);
      return errorResponse(error, deps.log, deps.metrics);
    }
  };
}
