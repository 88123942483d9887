/**
 * The replay Lambda: invoked (from a runbook, the console or Step Functions) with a selection as JSON,
 * it replays like `npx okepay replay` and stops before its time budget ends; then it invokes itself to
 * continue (continuation.ts), or with `"continue": false` returns `resumeWith` for the next invocation.
 * Invalid input fails the invocation with an `InvalidReplayRequestError` (a Step Functions `Catch` can
 * match that name).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { EventBridgeEventBus } from '../shared/bus/eventbridge-event-bus.ts';
import { dynamoDbClient } from '../shared/clients/dynamodb.ts';
import { eventBridgeClient } from '../shared/clients/eventbridge.ts';
import { lambdaClient } from '../shared/clients/lambda.ts';
import { METRIC_NAMESPACE } from '../shared/observability.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { loadReplayConfig } from './config.ts';
import { type ContinuedResponse, type LeaseHeldResponse, runAndContinue } from './continuation.ts';
import { loadContinuationConfig } from './continuation-config.ts';
import { DynamoDbReplayProgressStore } from './dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from './dynamodb-stored-event-query.ts';
import { type DryRunResponse, dryRunResponse, parseReplayInvocation } from './invocation.ts';
import { LambdaInvoker } from './lambda-invoker.ts';
import { dryRunReplay, type ReplayDeps, runReplay } from './run-replay.ts';

const logger = new Logger({ serviceName: 'okepay-replay' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'okepay-replay' });
const config = loadReplayConfig(process.env);
const continuation = loadContinuationConfig(process.env);
const invoker = continuation.functionName
  ? new LambdaInvoker(lambdaClient, continuation.functionName)
  : undefined;
const deps: ReplayDeps = {
  query: new DynamoDbStoredEventQuery(dynamoDbClient, config.tableName),
  store: new DynamoDbEventStore(dynamoDbClient, config.tableName),
  progress: new DynamoDbReplayProgressStore(dynamoDbClient, config.tableName),
  bus: new EventBridgeEventBus(eventBridgeClient, config.eventBusName),
  eventSource: config.eventSource,
  rawOnBus: config.rawOnBus,
  now: Date.now,
  metrics,
};

/**
 * No batch starts in the last 15 s of the budget, and no retry in the last 10 s: a request times out
 * after at most about 3 s (shared/clients/request-handler.ts), which leaves time to record the progress.
 */
const STOP_MARGIN_MS = 15_000;
const PUBLISH_MARGIN_MS = 10_000;
/** Without a Lambda context (a local call), the budget of a 5-minute function. */
const DEFAULT_BUDGET_MS = 300_000;

export const handler = async (
  event: unknown,
  context?: Context,
): Promise<ContinuedResponse | LeaseHeldResponse | DryRunResponse> => {
  if (context) logger.addContext(context);
  const invocation = parseReplayInvocation(event);
  try {
    if (invocation.dryRun) {
      const response = dryRunResponse(await dryRunReplay(invocation.request, deps));
      logger.info('Replay dry run', { selected: response.selected, toDo: response.toDo });
      return response;
    }
    const end = Date.now() + (context?.getRemainingTimeInMillis() ?? DEFAULT_BUDGET_MS);
    const stopAt = end - STOP_MARGIN_MS;
    const response = await runAndContinue(invocation, {
      run: () =>
        runReplay(invocation.request, deps, {
          rate: invocation.rate,
          ...(invocation.concurrency !== undefined ? { concurrency: invocation.concurrency } : {}),
          stopAt,
          publishDeadline: end - PUBLISH_MARGIN_MS,
          onStart: (start) => logger.info('Replay started', { ...start, chain: invocation.chain }),
        }),
      invoker,
      maxChain: continuation.maxChain,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      stopAt,
    });
    if ('leaseHeldUntil' in response)
      logger.warn('Replay continuation left to the run holding it', { ...response });
    else if (response.notContinued === 'chain-limit')
      logger.warn('Replay reached its chain limit; resume it by hand', { ...response, failures: undefined });
    else logger.info('Replay ended', { ...response, failures: undefined });
    return response;
  } finally {
    metrics.publishStoredMetrics();
  }
};
