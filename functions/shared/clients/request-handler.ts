/**
 * HTTP and retry settings of the AWS SDK clients of every function (ingest, consumer, replay, sweeper),
 * and the arithmetic that keeps each function inside its time budget.
 *
 * Three timeouts, because each covers what the others miss (@smithy/node-http-handler 4.x):
 * - `requestTimeout` runs from the start of an attempt to the response headers. Without
 *   `throwOnRequestTimeout: true` it only logs a warning and the call waits on: against a DynamoDB that
 *   accepts the connection and never answers, the ingest waited for its 15 s Lambda timeout.
 * - `socketTimeout` fails an attempt when no byte arrives for that long. It is the only one that ends a
 *   response whose headers came and whose body stalls: the request timer stops at the headers.
 *   Below 6 s it is armed as soon as the socket connects (from 6 s up, 3 s later).
 * - `connectionTimeout`: the TCP connect, for an address that drops packets.
 *
 * One attempt therefore ends {@link ATTEMPT_TIMEOUT_MS} after it started if nothing comes back, or that
 * long after the last byte if a response stalls. A server that sent its headers just before the request
 * timeout and then stalled could hold an attempt twice as long; AWS does not answer that way, so the
 * budgets below count one timeout per attempt and name that case apart.
 *
 * One call makes at most `maxAttempts` attempts. Between them the SDK's standard retry waits a random
 * 0–50 ms × 2^i before retry i (@smithy/core 3.x; 1 s × 2^i after throttling, which answers at once).
 * So a call to a server that accepts and never answers fails after:
 * - DynamoDB, SQS, Secrets Manager (2 attempts): 2 × 1.5 s + 0.05 s = 3.05 s (6.05 s in the two-timeout case);
 * - EventBridge (1 attempt): 1.5 s (3 s). Its callers retry PutEvents themselves
 *   (shared/bus/publish-entries.ts), with backoff and a deadline, so an SDK retry would only spend the
 *   budget that loop accounts for.
 *
 * One setting per service serves every function, because each function's longer horizon belongs to its
 * own retry loop (okePay's redelivery, SQS's, the replay's resume), not to the SDK's:
 * - ingest (15 s Lambda, API Gateway waits 30 s): a dependency that does not answer fails its first
 *   call after 3.05 s and the request is answered 503. A new IPN makes 3 sequential calls (UpdateItem
 *   of the dedup marker, PutItem, SendMessage), 4 when the cached webhook secret is refreshed, more for a
 *   revision; calls that each answer just before timing out could add up to 4 × 3.05 = 12.2 s, so the
 *   handler's own deadline (ingest/http-handler.ts, 10 s) answers 503 first: 10 s < 15 s < 30 s.
 * - consumer (30 s Lambda; PutEvents retries stop at budget − 3 s): a DynamoDB that does not answer
 *   fails the BatchGetItem after 3.05 s and the batch returns to the queue. An EventBridge that does
 *   not answer fails each PutEvents after 1.5 s; no retry starts after the deadline, so the last one
 *   ends by budget − 3 s + 1.5 s, which leaves 1.5 s to mark what was published and answer: enough for
 *   a DynamoDB that answers, not for one that stops answering right then (consumer/publish-queued-ipns.ts
 *   retries a mark 5 times without looking at the deadline).
 * - replay (15 min Lambda; no batch starts in the last 15 s, no PutEvents retry in the last 10 s): the
 *   last batch ends by end − 10 s + 1.5 s (PutEvents in flight) + 3.05 s (the checkpoint UpdateItem),
 *   5.45 s before the end.
 *
 * Not for long polling: a ReceiveMessage with WaitTimeSeconds ≥ 1.5 would time out (the CLI's clients,
 * bin/commands/targets.ts, have their own settings).
 */
/**
 * A Lambda's SDK client settings: pass them to the client's constructor (`new SQSClient({ ...settings })`).
 * `throwOnRequestTimeout` must stay true, or the request timeout only logs.
 */
export interface AwsClientSettings {
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    readonly socketTimeout: number;
    readonly throwOnRequestTimeout: true;
  };
  readonly maxAttempts: number;
}

/**
 * How long one attempt waits for the response headers, or for the next byte of a stalled response.
 * In-region DynamoDB, SQS, Secrets Manager and EventBridge answer in milliseconds (p99 well under
 * 100 ms); 1.5 s is long enough that a slow answer is not taken for a dead one, short enough for two
 * attempts to fit the ingest's budget several times over.
 */
export const ATTEMPT_TIMEOUT_MS = 1_500;

const requestHandler: AwsClientSettings['requestHandler'] = {
  connectionTimeout: 1_000,
  requestTimeout: ATTEMPT_TIMEOUT_MS,
  socketTimeout: ATTEMPT_TIMEOUT_MS,
  throwOnRequestTimeout: true,
};

/**
 * The settings of each service's client, shared by every function; the module-scope clients next to
 * this file are built with them. A call fails after at most `maxAttempts` × {@link ATTEMPT_TIMEOUT_MS}
 * plus 50 ms of backoff when the server accepts the connection and never answers: 3.05 s for DynamoDB,
 * SQS and Secrets Manager, 1.5 s for EventBridge. A new function (the sweeper) can count on that bound
 * per call when it sets its own stop margin.
 */
export const clientSettings = {
  dynamoDb: { requestHandler, maxAttempts: 2 },
  sqs: { requestHandler, maxAttempts: 2 },
  secretsManager: { requestHandler, maxAttempts: 2 },
  eventBridge: { requestHandler, maxAttempts: 1 },
} as const satisfies Record<string, AwsClientSettings>;
