/**
 * Floor 2 of the ack-path benchmark: verify the signature, then the same conditional DynamoDB
 * PutItem (same attributes, so dynalite maintains the same two indexes) and SQS SendMessage with the
 * AWS SDK, against dynalite (persisted, as `npm start` runs it) and local-aws-sqs started in this
 * process, as the local pipeline does. No validation, no handler, no consumer: the least an ack can
 * cost with this storage. Prints `listening <url>` when ready.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_REGION, startDynamoDb, startSqs } from '../../functions/local/aws-servers.ts';
import { createEventsTable, createQueues } from '../../functions/local/provision.ts';
import { IPN_PATH } from '../lib/bench-ipn.ts';
import { storedItem } from '../lib/stored-item.ts';
import { answer, hmacIsValid, readRequestBody, secretFromEnv, serveUntilSigterm } from './floor-http.ts';

const secret = secretFromEnv();
// The benchmark passes a directory it removes itself, even if this process has to be killed.
const ownDataDir = process.env.BENCH_DATA_DIR === undefined;
const dataDir = process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'okepay-bench-floor2-'));
const dynamoServer = await startDynamoDb({ path: join(dataDir, 'dynamodb') });
const sqsServer = await startSqs();
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
// The same HTTP settings as functions/shared/clients/request-handler.ts.
const requestHandler = { connectionTimeout: 1_000, requestTimeout: 5_000 };
const dynamoDb = new DynamoDBClient({
  region: LOCAL_REGION,
  endpoint: dynamoServer.url,
  credentials,
  requestHandler,
});
const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: sqsServer.url, credentials, requestHandler });
const tableName = 'okepay-events';
await createEventsTable(dynamoDb, tableName);
const { queueUrl } = await createQueues(sqs, {
  queueName: 'okepay-ipn',
  deadLetterQueueName: 'okepay-ipn-dlq',
  maxReceiveCount: 5,
  visibilityTimeoutSeconds: 10,
});

/** The same conditional put and send as the ingest function's adapters, without them. */
async function storeAndEnqueue(body: Buffer, signatureHeader: string): Promise<'accepted' | 'duplicate'> {
  const item = storedItem({
    body,
    signatureTimestamp: Number(signatureHeader.slice(2, signatureHeader.indexOf(','))),
    receivedAt: new Date().toISOString(),
    status: 'received',
  });
  try {
    await dynamoDb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'duplicate';
    throw error;
  }
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({
        v: 1,
        paymentId: item.paymentId?.S,
        event: item.event?.S,
        bodySha256: item.bodySha256?.S,
        receivedAt: item.receivedAt?.S,
      }),
    }),
  );
  return 'accepted';
}

const server = createServer((request, response) => {
  readRequestBody(request)
    .then(async (body) => {
      const header = request.headers['x-okepay-signature'];
      if (typeof header !== 'string' || !hmacIsValid(header, body, secret)) {
        answer(response, 401, '{"error":"invalid_signature"}');
        return;
      }
      answer(response, 200, `{"status":"${await storeAndEnqueue(body, header)}"}`);
    })
    .catch((error: unknown) => {
      console.error(error);
      answer(response, 503, '{"error":"temporarily_unavailable"}');
    });
});

serveUntilSigterm(server, IPN_PATH, async () => {
  dynamoDb.destroy();
  sqs.destroy();
  await sqsServer.close();
  await dynamoServer.close();
  if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
});
