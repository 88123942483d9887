import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { StoredEventNotFoundError, StoreUnavailableError } from './errors.ts';
import {
  type EventKey,
  type EventStore,
  eventKeyId,
  type PutIfAbsentResult,
  type RejectedIpn,
  type StoredEvent,
} from './event-store.ts';
import {
  eventKey,
  orderRefKey,
  paymentKey,
  receivedDayKey,
  rejectedKey,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from './table-design.ts';

type Item = Record<string, AttributeValue>;

const BATCH_GET_LIMIT = 100;
const BATCH_GET_ATTEMPTS = 5;

function keyOf(key: EventKey): Item {
  return {
    [TABLE_KEYS.partitionKey]: { S: paymentKey(key.paymentId) },
    [TABLE_KEYS.sortKey]: { S: eventKey(key.event) },
  };
}

function toItem(event: StoredEvent): Item {
  const pk = paymentKey(event.paymentId);
  const sk = eventKey(event.event);
  const item: Item = {
    [TABLE_KEYS.partitionKey]: { S: pk },
    [TABLE_KEYS.sortKey]: { S: sk },
    paymentId: { S: event.paymentId },
    event: { S: event.event },
    orderRef: { S: event.orderRef },
    body: { B: event.body },
    bodySha256: { S: event.bodySha256 },
    signatureTimestamp: { N: String(event.signatureTimestamp) },
    receivedAt: { S: event.receivedAt },
    occurredAt: { S: event.occurredAt },
    status: { S: event.status },
    conflictCount: { N: String(event.conflictCount) },
    [TTL_ATTRIBUTE]: { N: String(event.expiresAt) },
    orderRefKey: { S: orderRefKey(event.orderRef) },
    receivedDay: { S: receivedDayKey(event.receivedAt) },
    receivedKey: { S: `${event.receivedAt}#${pk}#${sk}` },
  };
  if (event.publishedAt) item.publishedAt = { S: event.publishedAt };
  return item;
}

function str(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new TypeError(`stored item has no string attribute ${name}`);
  return value;
}

function num(item: Item, name: string, fallback?: number): number {
  const value = item[name]?.N;
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new TypeError(`stored item has no number attribute ${name}`);
  }
  return Number(value);
}

function fromItem(item: Item): StoredEvent {
  const body = item.body?.B;
  if (body === undefined) throw new TypeError('stored item has no body');
  const status = str(item, 'status');
  if (status !== 'received' && status !== 'published') {
    throw new TypeError(`stored item has an unknown status ${status}`);
  }
  return {
    paymentId: str(item, 'paymentId'),
    event: str(item, 'event'),
    orderRef: str(item, 'orderRef'),
    body: Buffer.from(body),
    bodySha256: str(item, 'bodySha256'),
    signatureTimestamp: num(item, 'signatureTimestamp'),
    receivedAt: str(item, 'receivedAt'),
    occurredAt: str(item, 'occurredAt'),
    status,
    ...(item.publishedAt?.S ? { publishedAt: item.publishedAt.S } : {}),
    conflictCount: num(item, 'conflictCount', 0),
    expiresAt: num(item, TTL_ATTRIBUTE),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** {@link EventStore} on a DynamoDB table laid out as `table-design.ts` describes. */
export class DynamoDbEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putIfAbsent(event: StoredEvent): Promise<PutIfAbsentResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(event),
          // The conditional put is the dedup: of two concurrent deliveries of the same payment_id + event
          // exactly one creates the item; the other fails the condition and sees the winner's item.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new StoreUnavailableError('PutItem', { cause: error });
      }
      // DynamoDB returns the existing item with the failure; dynalite does not, so read it back.
      // The read is strongly consistent: the item exists, since the condition just failed on it.
      const existing = error.Item ? fromItem(error.Item) : await this.getOne(event);
      if (!existing) throw new StoreUnavailableError('GetItem', { cause: error });
      return { created: false, existing };
    }
  }

  async recordConflict(key: EventKey, bodySha256: string, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'ADD conflictCount :one SET lastConflictAt = :at, lastConflictSha256 = :sha',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':at': { S: at }, ':sha': { S: bodySha256 } },
        }),
      );
    } catch (error) {
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  async recordRejected(rejected: RejectedIpn): Promise<void> {
    const pk = rejectedKey(rejected.bodySha256);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TABLE_KEYS.partitionKey]: { S: pk },
            [TABLE_KEYS.sortKey]: { S: 'REJECTED' },
            status: { S: 'rejected' },
            body: { B: rejected.body },
            bodySha256: { S: rejected.bodySha256 },
            signatureTimestamp: { N: String(rejected.signatureTimestamp) },
            receivedAt: { S: rejected.receivedAt },
            httpStatus: { N: String(rejected.httpStatus) },
            issues: { S: JSON.stringify(rejected.issues) },
            [TTL_ATTRIBUTE]: { N: String(rejected.expiresAt) },
            receivedDay: { S: receivedDayKey(rejected.receivedAt) },
            receivedKey: { S: `${rejected.receivedAt}#${pk}#REJECTED` },
          },
          // The same invalid body sent again keeps its first record.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StoreUnavailableError('PutItem', { cause: error });
    }
  }

  async getMany(keys: readonly EventKey[]): Promise<StoredEvent[]> {
    const found: StoredEvent[] = [];
    const unique = [...new Map(keys.map((key) => [eventKeyId(key), key])).values()];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let pending: Item[] = unique.slice(start, start + BATCH_GET_LIMIT).map(keyOf);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_GET_ATTEMPTS) {
          throw new StoreUnavailableError('BatchGetItem', {
            cause: new Error(`${pending.length} keys still unprocessed after ${BATCH_GET_ATTEMPTS} attempts`),
          });
        }
        let response: BatchGetItemCommandOutput;
        try {
          response = await this.client.send(
            new BatchGetItemCommand({
              RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
            }),
          );
        } catch (error) {
          throw new StoreUnavailableError('BatchGetItem', { cause: error });
        }
        for (const item of response.Responses?.[this.tableName] ?? []) found.push(fromItem(item));
        pending = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        // DynamoDB's guidance for unprocessed keys: retry them with exponential backoff.
        if (pending.length > 0) await sleep(20 * 2 ** attempt);
      }
    }
    return found;
  }

  async markPublished(key: EventKey, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET #status = :published, publishedAt = :at',
          // Only the first publisher marks the item; a second one learns it was a redelivery.
          ConditionExpression: 'attribute_exists(#pk) AND #status <> :published',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#status': 'status' },
          ExpressionAttributeValues: { ':published': { S: 'published' }, ':at': { S: at } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new StoreUnavailableError('UpdateItem', { cause: error });
      }
      const existing = error.Item ? fromItem(error.Item) : await this.getOne(key);
      if (!existing) throw new StoredEventNotFoundError(eventKeyId(key));
      return false;
    }
  }

  private async getOne(key: EventKey): Promise<StoredEvent | undefined> {
    try {
      const response = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true }),
      );
      return response.Item ? fromItem(response.Item) : undefined;
    } catch (error) {
      throw new StoreUnavailableError('GetItem', { cause: error });
    }
  }
}
