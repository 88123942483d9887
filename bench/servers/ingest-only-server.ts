/**
 * A diagnostic row of the ack-path benchmark: the pipeline's ingest path without its consumer. The
 * ingest handler (functions/ingest/handler.ts) behind the local API Gateway adapter, with dynalite
 * (persisted) and local-aws-sqs in this process, as in `npm start`, but no queue poller, consumer or
 * bus. Comparing it with the local pipeline shows what the co-located consumer costs the ack path;
 * comparing it with floor 2 shows what the handler adds to the same two requests. Prints
 * `listening <url>` when ready.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readBody, toHttpApiEvent, writeHttpApiResult } from '../../functions/local/api-gateway-adapter.ts';
import { LOCAL_REGION, startDynamoDb, startSqs } from '../../functions/local/aws-servers.ts';
import { IPN_ROUTE } from '../../functions/local/pipeline.ts';
import { createEventsTable, createQueues } from '../../functions/local/provision.ts';
import { IPN_PATH } from '../lib/bench-ipn.ts';
import { answer, serveUntilSigterm } from './floor-http.ts';

// The benchmark passes a directory it removes itself, even if this process has to be killed.
const ownDataDir = process.env.BENCH_DATA_DIR === undefined;
const dataDir = process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'okepay-bench-ingest-only-'));
const dynamoServer = await startDynamoDb({ path: join(dataDir, 'dynamodb') });
const sqsServer = await startSqs();
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const dynamoDb = new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamoServer.url, credentials });
const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: sqsServer.url, credentials });
const tableName = 'okepay-events';
await createEventsTable(dynamoDb, tableName);
const { queueUrl } = await createQueues(sqs, {
  queueName: 'okepay-ipn',
  deadLetterQueueName: 'okepay-ipn-dlq',
  maxReceiveCount: 5,
  visibilityTimeoutSeconds: 10,
});

// As functions/local/pipeline.ts does before it imports the handler: the SDK's endpoint settings and
// the handler's configuration (the webhook secret comes from this process's environment).
Object.assign(process.env, {
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_ENDPOINT_URL_DYNAMODB: dynamoServer.url,
  AWS_ENDPOINT_URL_SQS: sqsServer.url,
  TABLE_NAME: tableName,
  QUEUE_URL: queueUrl,
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
});
const ingest = (await import('../../functions/ingest/handler.ts')) as {
  handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
};

const server = createServer((request, response) => {
  readBody(request)
    .then(async (body) => {
      if (body === undefined) answer(response, 413, '{"message":"Request Entity Too Large"}');
      else writeHttpApiResult(response, await ingest.handler(toHttpApiEvent(request, body, IPN_ROUTE)));
    })
    .catch((error: unknown) => {
      console.error(error);
      answer(response, 500, '{"message":"Internal Server Error"}');
    });
});

serveUntilSigterm(server, IPN_PATH, async () => {
  dynamoDb.destroy();
  sqs.destroy();
  await sqsServer.close();
  await dynamoServer.close();
  if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
});
