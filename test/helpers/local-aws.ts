/**
 * Starts real AWS-compatible servers on 127.0.0.1 for an integration test file and provisions the
 * table and queues: dynalite for DynamoDB (or, when OKEPAY_TEST_DYNAMODB_ENDPOINT is set, the
 * DynamoDB-compatible server at that URL, which is how .ci/run runs the same tests against AWS's
 * DynamoDB Local) and local-aws-sqs for SQS.
 */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  LOCAL_REGION,
  type RunningServer,
  startDynamoDb,
  startSqs,
} from '../../functions/local/aws-servers.ts';
import { createEventsTable, createQueues, type ProvisionedQueues } from '../../functions/local/provision.ts';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface LocalAws {
  dynamoDbUrl: string;
  sqsUrl: string;
  tableName: string;
  queues: ProvisionedQueues;
  dynamoDb: DynamoDBClient;
  sqs: SQSClient;
  /** Environment that points the functions' SDK clients at these servers. */
  env: Record<string, string>;
  /** Stops the SQS server and starts a new one on the same port with the same queues (messages lost). */
  restartSqs(): Promise<void>;
  stopSqs(): Promise<void>;
  close(): Promise<void>;
}

async function waitForActiveTable(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Table ${tableName} did not become ACTIVE`);
}

export async function startLocalAws(options: { visibilityTimeoutSeconds?: number } = {}): Promise<LocalAws> {
  const external = process.env.OKEPAY_TEST_DYNAMODB_ENDPOINT;
  const dynamoServer: RunningServer = external
    ? { url: external, close: async () => {} }
    : await startDynamoDb();
  let sqsServer: RunningServer | undefined = await startSqs();
  const sqsPort = Number(new URL(sqsServer.url).port);
  const sqsUrl = sqsServer.url;

  const clientConfig = { region: LOCAL_REGION, credentials: TEST_CREDENTIALS };
  const dynamoDb = new DynamoDBClient({ ...clientConfig, endpoint: dynamoServer.url });
  const sqs = new SQSClient({ ...clientConfig, endpoint: sqsUrl });

  const suffix = randomUUID().slice(0, 8);
  const tableName = `okepay-events-${suffix}`;
  const queueSettings = {
    queueName: `okepay-ipn-${suffix}`,
    deadLetterQueueName: `okepay-ipn-dlq-${suffix}`,
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
  };
  await createEventsTable(dynamoDb, tableName);
  await waitForActiveTable(dynamoDb, tableName);
  const queues = await createQueues(sqs, queueSettings);

  return {
    dynamoDbUrl: dynamoServer.url,
    sqsUrl,
    tableName,
    queues,
    dynamoDb,
    sqs,
    env: {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoServer.url,
      AWS_ENDPOINT_URL_SQS: sqsUrl,
      TABLE_NAME: tableName,
      QUEUE_URL: queues.queueUrl,
    },
    async stopSqs() {
      await sqsServer?.close();
      sqsServer = undefined;
    },
    async restartSqs() {
      await sqsServer?.close();
      sqsServer = await startSqs({ port: sqsPort });
      await createQueues(sqs, queueSettings);
    },
    async close() {
      dynamoDb.destroy();
      sqs.destroy();
      await sqsServer?.close();
      await dynamoServer.close();
    },
  };
}
