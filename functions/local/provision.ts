/**
 * Creates the table and queues the CDK stack declares, on local servers (or any endpoint the clients
 * point at). Idempotent: existing resources are kept, so the local pipeline can restart on its data.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  INDEX_PROJECTED_ATTRIBUTES,
  ORDER_REF_INDEX,
  RECEIVED_DAY_INDEX,
  STATE_INDEX,
  STATE_INDEX_PROJECTED_ATTRIBUTES,
  TABLE_KEYS,
} from '../shared/store/table-design.ts';

export async function createEventsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const projection = {
    ProjectionType: 'INCLUDE' as const,
    NonKeyAttributes: [...INDEX_PROJECTED_ATTRIBUTES],
  };
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
          { AttributeName: ORDER_REF_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: RECEIVED_DAY_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: RECEIVED_DAY_INDEX.sortKey, AttributeType: 'S' },
          { AttributeName: STATE_INDEX.partitionKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: ORDER_REF_INDEX.name,
            KeySchema: [
              { AttributeName: ORDER_REF_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: ORDER_REF_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: projection,
          },
          {
            IndexName: RECEIVED_DAY_INDEX.name,
            KeySchema: [
              { AttributeName: RECEIVED_DAY_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: RECEIVED_DAY_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: projection,
          },
          {
            IndexName: STATE_INDEX.name,
            KeySchema: [
              { AttributeName: STATE_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: STATE_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: {
              ProjectionType: 'INCLUDE' as const,
              NonKeyAttributes: [...STATE_INDEX_PROJECTED_ATTRIBUTES],
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await requireStateIndex(client, tableName);
  }
}

/**
 * A table kept from an earlier version may lack the state index, and dynalite cannot add an index to
 * an existing table: say so at start-up rather than fail later, on the first sweep or list.
 */
async function requireStateIndex(client: DynamoDBClient, tableName: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName);
  if (!indexes.includes(STATE_INDEX.name)) {
    throw new Error(
      `The local table ${tableName} was created by an earlier version, without the ${STATE_INDEX.name} index ` +
        'that the sweeper and the operator commands need. Start with a new data directory (--data-dir), or ' +
        'delete the current one (default .okepay-local) to start afresh.',
    );
  }
}

export interface QueueSettings {
  queueName: string;
  deadLetterQueueName: string;
  /** Receives before a message moves to the DLQ (the stack's `maxReceiveCount`). */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

export interface ProvisionedQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const attributes = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = attributes.Attributes?.QueueArn;
  if (!arn) throw new Error(`Queue ${queueUrl} has no QueueArn attribute`);
  return arn;
}

export async function createQueues(client: SQSClient, settings: QueueSettings): Promise<ProvisionedQueues> {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: settings.deadLetterQueueName,
      Attributes: { MessageRetentionPeriod: '1209600' },
    }),
  );
  if (!dlq.QueueUrl) throw new Error('CreateQueue returned no QueueUrl for the DLQ');
  const deadLetterQueueArn = await queueArn(client, dlq.QueueUrl);
  const main = await client.send(
    new CreateQueueCommand({
      QueueName: settings.queueName,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterQueueArn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
    }),
  );
  if (!main.QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  return {
    queueUrl: main.QueueUrl,
    queueArn: await queueArn(client, main.QueueUrl),
    deadLetterQueueUrl: dlq.QueueUrl,
    deadLetterQueueArn,
  };
}
