import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { TABLE_KEYS, TTL_ATTRIBUTE } from '../shared/store/table-design.ts';
import {
  ReplayInProgressError,
  ReplayLeaseLostError,
  ReplayNotFoundError,
  ReplayProgressUnavailableError,
} from './errors.ts';
import type { ReplayLease, ReplayProgressStore, ReplayRecord } from './replay-progress-store.ts';
import { frozenSelectionSchema } from './selection.ts';

type Item = Record<string, AttributeValue>;

/** Progress records outlive the replay by this much after their last update (then TTL deletes them). */
const RECORD_RETENTION_SECONDS = 30 * 86_400;
export const replayKey = (replayId: string) => `REPLAY#${replayId}`;
const REPLAY_SORT_KEY = 'REPLAY';

const failuresSchema = z.array(
  z.object({
    paymentId: z.string(),
    event: z.string(),
    revisionHash: z.string().optional(),
    orderRef: z.string(),
    orderKey: z.string(),
    errorCode: z.string(),
    errorMessage: z.string(),
  }),
);

function keyOf(replayId: string): Item {
  return {
    [TABLE_KEYS.partitionKey]: { S: replayKey(replayId) },
    [TABLE_KEYS.sortKey]: { S: REPLAY_SORT_KEY },
  };
}

const expiresAt = (updatedAt: string) =>
  String(Math.floor(Date.parse(updatedAt) / 1000) + RECORD_RETENTION_SECONDS);

function fromItem(item: Item): ReplayRecord {
  const text = (name: string) => {
    const value = item[name]?.S;
    if (value === undefined) throw new TypeError(`replay record has no string attribute ${name}`);
    return value;
  };
  return {
    replayId: text('replayId'),
    requestedAt: text('requestedAt'),
    selection: frozenSelectionSchema.parse(JSON.parse(text('selection'))),
    ...(item.cursor?.S ? { cursor: item.cursor.S } : {}),
    published: Number(item.published?.N ?? '0'),
    failures: failuresSchema.parse(JSON.parse(item.failures?.S ?? '[]')),
    complete: item.complete?.BOOL === true,
    updatedAt: text('updatedAt'),
  };
}

/** The attributes `save` and `release` write. */
function progressValues(record: ReplayRecord): Item {
  return {
    ':published': { N: String(record.published) },
    ':failures': { S: JSON.stringify(record.failures) },
    ':complete': { BOOL: record.complete },
    ':updatedAt': { S: record.updatedAt },
    ':expiresAt': { N: expiresAt(record.updatedAt) },
    ...(record.cursor !== undefined ? { ':cursor': { S: record.cursor } } : {}),
  };
}

// Every attribute through an alias: CURSOR is a DynamoDB reserved word, and others may become one.
const PROGRESS_SET =
  '#published = :published, #failures = :failures, #complete = :complete, #updatedAt = :updatedAt, #ttl = :expiresAt';
const PROGRESS_NAMES = {
  '#published': 'published',
  '#failures': 'failures',
  '#complete': 'complete',
  '#updatedAt': 'updatedAt',
  '#ttl': TTL_ATTRIBUTE,
  '#owner': 'leaseOwner',
  '#leaseExpires': 'leaseExpiresAt',
};

/**
 * {@link ReplayProgressStore} as one item per replay in the events table: `pk = REPLAY#<replayId>`,
 * `sk = REPLAY`. It has no index attributes, so no selection query sees it. Writes are conditional on
 * the lease owner, so a process whose lease was taken over cannot move the cursor.
 */
export class DynamoDbReplayProgressStore implements ReplayProgressStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(record: ReplayRecord, lease: ReplayLease): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...keyOf(record.replayId),
            replayId: { S: record.replayId },
            requestedAt: { S: record.requestedAt },
            selection: { S: JSON.stringify(record.selection) },
            published: { N: String(record.published) },
            failures: { S: JSON.stringify(record.failures) },
            complete: { BOOL: record.complete },
            updatedAt: { S: record.updatedAt },
            leaseOwner: { S: lease.owner },
            leaseExpiresAt: { N: String(lease.expiresAt) },
            [TTL_ATTRIBUTE]: { N: expiresAt(record.updatedAt) },
            ...(record.cursor !== undefined ? { cursor: { S: record.cursor } } : {}),
          },
          // Replay ids are random; a clash would mean two replays sharing one record.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
        }),
      );
    } catch (error) {
      throw new ReplayProgressUnavailableError('PutItem', { cause: error });
    }
  }

  async get(replayId: string): Promise<ReplayRecord | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keyOf(replayId), ConsistentRead: true }),
      );
      return Item ? fromItem(Item) : undefined;
    } catch (error) {
      throw new ReplayProgressUnavailableError('GetItem', { cause: error });
    }
  }

  async claim(replayId: string, lease: ReplayLease, now: number): Promise<ReplayRecord> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(replayId),
          UpdateExpression: 'SET #owner = :owner, #leaseExpires = :expires',
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#owner) OR #leaseExpires < :now)',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEYS.partitionKey,
            '#owner': 'leaseOwner',
            '#leaseExpires': 'leaseExpiresAt',
          },
          ExpressionAttributeValues: {
            ':owner': { S: lease.owner },
            ':expires': { N: String(lease.expiresAt) },
            ':now': { N: String(now) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!Attributes) throw new TypeError('UpdateItem returned no attributes');
      return fromItem(Attributes);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new ReplayProgressUnavailableError('UpdateItem', { cause: error });
      }
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keyOf(replayId), ConsistentRead: true }),
      );
      if (!Item) throw new ReplayNotFoundError(replayId);
      const held = Number(Item.leaseExpiresAt?.N ?? '0');
      throw new ReplayInProgressError(replayId, new Date(held).toISOString());
    }
  }

  async save(record: ReplayRecord, lease: ReplayLease): Promise<void> {
    await this.update(record, lease.owner, {
      UpdateExpression: `SET ${PROGRESS_SET}, #leaseExpires = :leaseExpires${record.cursor !== undefined ? ', #cursor = :cursor' : ''}`,
      values: { ':leaseExpires': { N: String(lease.expiresAt) } },
    });
  }

  async release(record: ReplayRecord, owner: string): Promise<void> {
    await this.update(record, owner, {
      UpdateExpression: `SET ${PROGRESS_SET}${record.cursor !== undefined ? ', #cursor = :cursor' : ''} REMOVE #owner, #leaseExpires`,
      values: {},
    });
  }

  private async update(
    record: ReplayRecord,
    owner: string,
    write: { UpdateExpression: string; values: Item },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(record.replayId),
          UpdateExpression: write.UpdateExpression,
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: {
            ...PROGRESS_NAMES,
            ...(record.cursor !== undefined ? { '#cursor': 'cursor' } : {}),
          },
          ExpressionAttributeValues: { ...progressValues(record), ...write.values, ':owner': { S: owner } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ReplayLeaseLostError(record.replayId, { cause: error });
      }
      throw new ReplayProgressUnavailableError('UpdateItem', { cause: error });
    }
  }
}
