/**
 * API Gateway HTTP API (payload v2) handler for `POST /okepay/ipn`. Thin on purpose: it wires the
 * AWS adapters once at cold start; `createIngestHttpHandler` turns each event into a call of
 * `receiveIpn` and maps the outcome or error to a response.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { dynamoDbClient } from '../shared/clients/dynamodb.ts';
import { secretsManagerClient } from '../shared/clients/secrets-manager.ts';
import { sqsClient } from '../shared/clients/sqs.ts';
import { METRIC_NAMESPACE } from '../shared/observability.ts';
import { SqsIpnQueue } from '../shared/queue/sqs-ipn-queue.ts';
import { SecretsManagerWebhookSecrets } from '../shared/secrets/secrets-manager-webhook-secrets.ts';
import { StaticWebhookSecrets } from '../shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../shared/store/dynamodb-event-store.ts';
import { loadIngestConfig } from './config.ts';
import { createIngestHttpHandler } from './http-handler.ts';
import type { ReceiveIpnDeps } from './receive-ipn.ts';

const logger = new Logger({ serviceName: 'okepay-ingest' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'okepay-ingest' });

// Validated once at cold start: a misconfigured function fails its first invocation with a message
// naming the variable, instead of failing each request in a different way.
const config = loadIngestConfig(process.env);

const deps: ReceiveIpnDeps = {
  store: new DynamoDbEventStore(dynamoDbClient, config.tableName),
  queue: new SqsIpnQueue(sqsClient, config.queueUrl),
  secrets:
    config.secretSource.kind === 'env'
      ? new StaticWebhookSecrets(config.secretSource.secrets)
      : new SecretsManagerWebhookSecrets(secretsManagerClient, config.secretSource.arn),
  now: Date.now,
  log: logger,
  metrics,
  settings: config,
};

const handleIpn = createIngestHttpHandler(deps, { allowedSources: config.allowedSources });

export const handler = async (
  event: APIGatewayProxyEventV2,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  if (context) logger.addContext(context);
  try {
    return await handleIpn(event, context);
  } finally {
    metrics.publishStoredMetrics();
  }
};
