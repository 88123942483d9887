import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { OrderingFact } from '../canonical/ordering.ts';
import { StoredEventNotFoundError, StoreUnavailableError, UnreadableStoredItemError } from './errors.ts';
import type { AttentionState, EventStateStore, ListStateOptions, StateEntry } from './event-states.ts';
import {
  type DedupMarker,
  type EventKey,
  type EventStore,
  eventKeyId,
  type PaymentRecord,
  type PublishHistory,
  type PutIfAbsentResult,
  type RejectedIpn,
  type SeenResult,
  STORED_EVENT_STATUSES,
  type StoredDedupMarker,
  type StoredEvent,
  type StoredEventStatus,
  type StoredRejectedIpn,
  type UnreadableItem,
} from './event-store.ts';
import {
  eventKey,
  HELD_STATE,
  orderRefKey,
  paymentKey,
  pendingStateKey,
  pendingStateKeys,
  REJECTED_SORT_KEY,
  REJECTED_STATE,
  receivedDayKey,
  rejectedKey,
  revisionKey,
  STATE_INDEX,
  seenKey,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from './table-design.ts';

type Item = Record<string, AttributeValue>;

const BATCH_GET_LIMIT = 100;
const BATCH_GET_ATTEMPTS = 5;
const PAYMENT_PREFIX = paymentKey('');
const REVISION_MARK = '#REV#';

function sortKeyOf(key: EventKey): string {
  return key.revisionHash ? revisionKey(key.event, key.revisionHash) : eventKey(key.event);
}

function keyOf(key: EventKey): Item {
  return {
    [TABLE_KEYS.partitionKey]: { S: paymentKey(key.paymentId) },
    [TABLE_KEYS.sortKey]: { S: sortKeyOf(key) },
  };
}

/** The key an item's pk/sk stand for, so a broken item can still be named. */
function eventKeyOfItem(item: Item): EventKey | undefined {
  const pk = item[TABLE_KEYS.partitionKey]?.S;
  const sk = item[TABLE_KEYS.sortKey]?.S;
  if (!pk?.startsWith(PAYMENT_PREFIX) || !sk?.startsWith('EVENT#')) return undefined;
  const paymentId = pk.slice(PAYMENT_PREFIX.length);
  const rest = sk.slice('EVENT#'.length);
  const mark = rest.indexOf(REVISION_MARK);
  return mark < 0
    ? { paymentId, event: rest }
    : { paymentId, event: rest.slice(0, mark), revisionHash: rest.slice(mark + REVISION_MARK.length) };
}

/** The `byState` partition an item in this status belongs to; none once nothing waits on it. */
function stateKeyOf(pk: string, sk: string, status: StoredEventStatus): string | undefined {
  if (status === 'received') return pendingStateKey(pk, sk);
  if (status === 'held') return HELD_STATE;
  return undefined;
}

function toItem(event: StoredEvent): Item {
  const pk = paymentKey(event.paymentId);
  const sk = sortKeyOf(event);
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
    revision: { N: String(event.revision) },
    conflictCount: { N: String(event.conflictCount) },
    [TTL_ATTRIBUTE]: { N: String(event.expiresAt) },
    orderRefKey: { S: orderRefKey(event.orderRef) },
    receivedDay: { S: receivedDayKey(event.receivedAt, pk, sk) },
    receivedKey: { S: `${event.receivedAt}#${pk}#${sk}` },
  };
  const stateKey = stateKeyOf(pk, sk, event.status);
  if (stateKey) item[STATE_INDEX.partitionKey] = { S: stateKey };
  if (event.revisionHash) item.revisionHash = { S: event.revisionHash };
  if (event.contentSha256) item.contentSha256 = { S: event.contentSha256 };
  if (event.publishedAt) item.publishedAt = { S: event.publishedAt };
  if (event.reprocessedFrom) item.reprocessedFrom = { S: event.reprocessedFrom };
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

function isStatus(value: string): value is StoredEventStatus {
  return (STORED_EVENT_STATUSES as readonly string[]).includes(value);
}

function fromItem(item: Item): StoredEvent {
  const body = item.body?.B;
  if (body === undefined) throw new TypeError('stored item has no body');
  const status = str(item, 'status');
  if (!isStatus(status)) throw new TypeError(`stored item has an unknown status ${status}`);
  const revisionHash = item.revisionHash?.S;
  return {
    paymentId: str(item, 'paymentId'),
    event: str(item, 'event'),
    ...(revisionHash ? { revisionHash } : {}),
    orderRef: str(item, 'orderRef'),
    body: Buffer.from(body),
    bodySha256: str(item, 'bodySha256'),
    ...(item.contentSha256?.S ? { contentSha256: item.contentSha256.S } : {}),
    signatureTimestamp: num(item, 'signatureTimestamp'),
    receivedAt: str(item, 'receivedAt'),
    occurredAt: str(item, 'occurredAt'),
    status,
    ...(item.publishedAt?.S ? { publishedAt: item.publishedAt.S } : {}),
    ...(item.busEventId?.S ? { busEventId: item.busEventId.S } : {}),
    // Items written before revisions existed have no `revision`: they are first copies.
    revision: num(item, 'revision', 1),
    conflictCount: num(item, 'conflictCount', 0),
    ...(item.reprocessedFrom?.S ? { reprocessedFrom: item.reprocessedFrom.S } : {}),
    expiresAt: num(item, TTL_ATTRIBUTE),
  };
}

function historyOf(item: Item): PublishHistory {
  return {
    ...(item.statusChangedAt?.S ? { statusChangedAt: item.statusChangedAt.S } : {}),
    ...(item.sweptAt?.S ? { sweptAt: item.sweptAt.S } : {}),
    ...(item.sweepCount?.N ? { sweepCount: Number(item.sweepCount.N) } : {}),
    ...(item.failureCount?.N ? { failureCount: Number(item.failureCount.N) } : {}),
    ...(item.lastFailureAt?.S ? { lastFailureAt: item.lastFailureAt.S } : {}),
    ...(item.lastFailureReason?.S ? { lastFailureReason: item.lastFailureReason.S } : {}),
  };
}

function markerOf(item: Item): StoredDedupMarker | undefined {
  const pk = item[TABLE_KEYS.partitionKey]?.S ?? '';
  const sk = item[TABLE_KEYS.sortKey]?.S ?? '';
  const match = /^SEEN#(.+)#([0-9a-f]{64})$/.exec(sk);
  if (!pk.startsWith(PAYMENT_PREFIX) || !match) return undefined;
  return {
    paymentId: pk.slice(PAYMENT_PREFIX.length),
    event: match[1] ?? '',
    contentSha256: match[2] ?? '',
    bodyExpiresAt: Number(item.bodyExpiresAt?.N ?? 0),
    // Markers written before deliveries were counted stand for one delivery.
    deliveryCount: Number(item.deliveryCount?.N ?? 1),
    ...(item.firstDeliveredAt?.S ? { firstDeliveredAt: item.firstDeliveredAt.S } : {}),
    ...(item.lastDeliveredAt?.S ? { lastDeliveredAt: item.lastDeliveredAt.S } : {}),
    ...(item.lastSkewSeconds?.N ? { lastSignatureSkewSeconds: Number(item.lastSkewSeconds.N) } : {}),
  };
}

function parseIssues(text: string | undefined): { path: string; message: string }[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as { path: string; message: string }[]) : [];
  } catch {
    return [{ path: '', message: text }];
  }
}

function fromRejectedItem(item: Item): StoredRejectedIpn {
  const body = item.body?.B;
  if (body === undefined) throw new TypeError('rejected item has no body');
  const status = str(item, 'status') === 'reprocessed' ? 'reprocessed' : 'rejected';
  const asPaymentId = item.reprocessedAsPaymentId?.S;
  const asEvent = item.reprocessedAsEvent?.S;
  const asRevision = item.reprocessedAsRevisionHash?.S;
  return {
    body: Buffer.from(body),
    bodySha256: str(item, 'bodySha256'),
    signatureTimestamp: num(item, 'signatureTimestamp'),
    receivedAt: str(item, 'receivedAt'),
    httpStatus: num(item, 'httpStatus', 400),
    issues: parseIssues(item.issues?.S),
    expiresAt: num(item, TTL_ATTRIBUTE),
    status,
    ...(item.paymentIdHint?.S ? { paymentIdHint: item.paymentIdHint.S } : {}),
    ...(item.eventHint?.S ? { eventHint: item.eventHint.S } : {}),
    ...(item.reprocessedAt?.S ? { reprocessedAt: item.reprocessedAt.S } : {}),
    ...(asPaymentId && asEvent
      ? {
          reprocessedAs: {
            paymentId: asPaymentId,
            event: asEvent,
            ...(asRevision ? { revisionHash: asRevision } : {}),
          },
        }
      : {}),
  };
}

function stateEntryOf(state: AttentionState, item: Item): StateEntry | undefined {
  const receivedAt = item.receivedAt?.S;
  const bodySha256 = item.bodySha256?.S;
  const status = item.status?.S;
  if (!receivedAt || !bodySha256 || !status) return undefined;
  const key = eventKeyOfItem(item);
  return {
    state,
    ...(key ? { key } : {}),
    bodySha256,
    ...(item.orderRef?.S !== undefined ? { orderRef: item.orderRef.S } : {}),
    status,
    ...(item.revision?.N ? { revision: Number(item.revision.N) } : key ? { revision: 1 } : {}),
    receivedAt,
    ...(item.httpStatus?.N ? { httpStatus: Number(item.httpStatus.N) } : {}),
    ...(item.issues?.S ? { issues: parseIssues(item.issues.S) } : {}),
    ...(item.sweptAt?.S ? { sweptAt: item.sweptAt.S } : {}),
    sweepCount: Number(item.sweepCount?.N ?? 0),
    ...(item.paymentIdHint?.S ? { paymentIdHint: item.paymentIdHint.S } : {}),
  };
}

/** The `byState` partitions of a state: the pending shards, or the one held or rejected partition. */
function statePartitions(state: AttentionState): string[] {
  return state === 'pending' ? pendingStateKeys() : [state === 'held' ? HELD_STATE : REJECTED_STATE];
}

/** A Query of one `byState` partition, optionally only items received before an instant. */
function statePartitionQuery(partition: string, receivedBefore: string | undefined) {
  return {
    IndexName: STATE_INDEX.name,
    KeyConditionExpression:
      receivedBefore === undefined ? '#part = :part' : '#part = :part AND #rk < :before',
    ExpressionAttributeNames: {
      '#part': STATE_INDEX.partitionKey,
      ...(receivedBefore === undefined ? {} : { '#rk': STATE_INDEX.sortKey }),
    },
    ExpressionAttributeValues: {
      ':part': { S: partition },
      ...(receivedBefore === undefined ? {} : { ':before': { S: receivedBefore } }),
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** {@link EventStore} and {@link EventStateStore} on a DynamoDB table laid out as `table-design.ts` describes. */
export class DynamoDbEventStore implements EventStore, EventStateStore {
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
      const item = error.Item ?? (await this.getItem(keyOf(event)));
      if (!item) throw new StoreUnavailableError('GetItem', { cause: error });
      try {
        return { created: false, existing: fromItem(item) };
      } catch (readError) {
        throw new UnreadableStoredItemError(eventKeyId(event), { cause: readError });
      }
    }
  }

  async get(key: EventKey): Promise<StoredEvent | undefined> {
    const item = await this.getItem(keyOf(key));
    return item ? fromItem(item) : undefined;
  }

  async claimRevisionNumber(key: EventKey, at: string): Promise<number> {
    try {
      const response = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf({ paymentId: key.paymentId, event: key.event }),
          // ADD is atomic: two different revisions arriving at once get two different numbers.
          UpdateExpression: 'ADD conflictCount :one SET lastConflictAt = :at',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':at': { S: at } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(response.Attributes?.conflictCount?.N ?? 1) + 1;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StoredEventNotFoundError(eventKeyId({ paymentId: key.paymentId, event: key.event }));
      }
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  async rememberSeen(marker: DedupMarker, nowSeconds: number): Promise<SeenResult> {
    try {
      const response = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: {
            [TABLE_KEYS.partitionKey]: { S: paymentKey(marker.paymentId) },
            [TABLE_KEYS.sortKey]: { S: seenKey(marker.event, marker.contentSha256) },
          },
          // if_not_exists: a redelivery must not push the first copy's expiry further out. The condition
          // fails only for a marker whose body has expired: that content was stored and is gone.
          // The marker also counts the deliveries of its content, for the payment's timeline: no extra
          // write, this update happens on every delivery anyway.
          UpdateExpression:
            'SET bodyExpiresAt = if_not_exists(bodyExpiresAt, :body), #ttl = if_not_exists(#ttl, :ttl), ' +
            'firstDeliveredAt = if_not_exists(firstDeliveredAt, :at), lastDeliveredAt = :at, ' +
            'lastSkewSeconds = :skew ADD deliveryCount :one',
          ConditionExpression: 'attribute_not_exists(#pk) OR bodyExpiresAt > :now',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':body': { N: String(marker.bodyExpiresAt) },
            ':ttl': { N: String(marker.expiresAt) },
            ':now': { N: String(nowSeconds) },
            ':at': { S: marker.deliveredAt },
            ':skew': { N: String(marker.signatureSkewSeconds) },
            ':one': { N: '1' },
          },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return response.Attributes?.bodyExpiresAt ? 'stored' : 'new';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'expired';
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
            [TABLE_KEYS.sortKey]: { S: REJECTED_SORT_KEY },
            status: { S: 'rejected' },
            body: { B: rejected.body },
            bodySha256: { S: rejected.bodySha256 },
            signatureTimestamp: { N: String(rejected.signatureTimestamp) },
            receivedAt: { S: rejected.receivedAt },
            httpStatus: { N: String(rejected.httpStatus) },
            issues: { S: JSON.stringify(rejected.issues) },
            [TTL_ATTRIBUTE]: { N: String(rejected.expiresAt) },
            receivedDay: { S: receivedDayKey(rejected.receivedAt, pk, REJECTED_SORT_KEY) },
            receivedKey: { S: `${rejected.receivedAt}#${pk}#${REJECTED_SORT_KEY}` },
            [STATE_INDEX.partitionKey]: { S: REJECTED_STATE },
            ...(rejected.paymentIdHint ? { paymentIdHint: { S: rejected.paymentIdHint } } : {}),
            ...(rejected.eventHint ? { eventHint: { S: rejected.eventHint } } : {}),
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
    return (await this.readMany(keys)).events;
  }

  async readMany(
    keys: readonly EventKey[],
  ): Promise<{ events: StoredEvent[]; unreadable: UnreadableItem[] }> {
    const events: StoredEvent[] = [];
    const unreadable: UnreadableItem[] = [];
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
        for (const item of response.Responses?.[this.tableName] ?? []) {
          // One broken item must not fail the others read with it: it is returned apart, by its key.
          try {
            events.push(fromItem(item));
          } catch (error) {
            const key = eventKeyOfItem(item);
            if (key) unreadable.push({ key, error: error as Error });
          }
        }
        pending = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        // DynamoDB's guidance for unprocessed keys: retry them with exponential backoff.
        if (pending.length > 0) await sleep(20 * 2 ** attempt);
      }
    }
    return { events, unreadable };
  }

  async markPublished(key: EventKey, at: string, busEventId?: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          // Leaving the pending state: the sweeper no longer sees it.
          UpdateExpression: `SET #status = :published, publishedAt = :at${busEventId ? ', busEventId = :bus' : ''} REMOVE #state`,
          // Only the first publisher marks the item; a second one learns it was a redelivery.
          ConditionExpression: 'attribute_exists(#pk) AND #status <> :published',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEYS.partitionKey,
            '#status': 'status',
            '#state': STATE_INDEX.partitionKey,
          },
          ExpressionAttributeValues: {
            ':published': { S: 'published' },
            ':at': { S: at },
            ...(busEventId ? { ':bus': { S: busEventId } } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new StoreUnavailableError('UpdateItem', { cause: error });
      }
      const existing = error.Item ?? (await this.getItem(keyOf(key)));
      if (!existing) throw new StoredEventNotFoundError(eventKeyId(key));
      return false;
    }
  }

  async recordPublishFailure(key: EventKey, at: string, reason: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET lastFailureAt = :at, lastFailureReason = :reason ADD failureCount :one',
          ConditionExpression: 'attribute_exists(#pk) AND #status = :received',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': { S: at },
            ':reason': { S: reason.slice(0, 500) },
            ':one': { N: '1' },
            ':received': { S: 'received' },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  async paymentRecord(paymentId: string): Promise<PaymentRecord> {
    const record: PaymentRecord = { events: [], markers: [] };
    const pages = this.pages({
      ConsistentRead: true,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
      ExpressionAttributeValues: { ':pk': { S: paymentKey(paymentId) } },
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const marker = markerOf(item);
        if (marker) {
          record.markers.push(marker);
        } else if (eventKeyOfItem(item)) {
          try {
            record.events.push({ ...fromItem(item), ...historyOf(item) });
          } catch {
            // An unreadable item is shown by the consumer's and the DLQ's reports, not here.
          }
        }
      }
    }
    return record;
  }

  async orderingFacts(paymentIds: readonly string[]): Promise<Map<string, OrderingFact[]>> {
    const facts = new Map<string, OrderingFact[]>();
    await Promise.all(
      [...new Set(paymentIds)].map(async (paymentId) => {
        const found: OrderingFact[] = [];
        const pages = this.pages({
          ConsistentRead: true,
          // The payment's stored events only (not its dedup markers), without their bodies.
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :event)',
          ProjectionExpression: '#sk, #event, revision, occurredAt, receivedAt, #status',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEYS.partitionKey,
            '#sk': TABLE_KEYS.sortKey,
            '#event': 'event',
            '#status': 'status',
          },
          ExpressionAttributeValues: { ':pk': { S: paymentKey(paymentId) }, ':event': { S: 'EVENT#' } },
        });
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            const status = item.status?.S ?? '';
            const event = item.event?.S;
            const occurredAt = item.occurredAt?.S;
            const receivedAt = item.receivedAt?.S;
            if (!event || !occurredAt || !receivedAt || !isStatus(status)) continue;
            found.push({ event, revision: Number(item.revision?.N ?? 1), occurredAt, receivedAt, status });
          }
        }
        facts.set(paymentId, found);
      }),
    );
    return facts;
  }

  async listState(state: AttentionState, options: ListStateOptions = {}): Promise<StateEntry[]> {
    const perPartition = await Promise.all(
      statePartitions(state).map((partition) => this.queryState(state, partition, options)),
    );
    const entries = perPartition.flat();
    // Each partition is sorted by receivedKey; merging by receivedAt keeps the whole list in order.
    entries.sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
    if (options.newestFirst) entries.reverse();
    return options.limit === undefined ? entries : entries.slice(0, options.limit);
  }

  async countState(state: AttentionState, options: { receivedBefore?: string } = {}): Promise<number> {
    const counts = await Promise.all(
      statePartitions(state).map(async (partition) => {
        let total = 0;
        const pages = this.pages({
          ...statePartitionQuery(partition, options.receivedBefore),
          Select: 'COUNT',
        });
        for await (const page of pages) total += page.Count ?? 0;
        return total;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async transition(
    key: EventKey,
    from: StoredEventStatus,
    to: Exclude<StoredEventStatus, 'published'>,
    at: string,
  ): Promise<boolean> {
    const item = keyOf(key);
    const stateKey = stateKeyOf(
      item[TABLE_KEYS.partitionKey]?.S ?? '',
      item[TABLE_KEYS.sortKey]?.S ?? '',
      to,
    );
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: item,
          UpdateExpression: stateKey
            ? 'SET #status = :to, statusChangedAt = :at, #state = :state'
            : 'SET #status = :to, statusChangedAt = :at REMOVE #state',
          ConditionExpression: 'attribute_exists(#pk) AND #status = :from',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEYS.partitionKey,
            '#status': 'status',
            '#state': STATE_INDEX.partitionKey,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ExpressionAttributeValues: {
            ':to': { S: to },
            ':from': { S: from },
            ':at': { S: at },
            ...(stateKey ? { ':state': { S: stateKey } } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw new StoreUnavailableError('UpdateItem', { cause: error });
      }
      // The SDK retries an update whose answer was lost; the retry then finds the item already moved.
      // The same target status at the same instant is that first, successful write of ours.
      const current = error.Item ?? (await this.getItem(item));
      return current?.status?.S === to && current.statusChangedAt?.S === at;
    }
  }

  async recordSweep(key: EventKey, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET sweptAt = :at ADD sweepCount :one',
          // Never touch an item that was published meanwhile.
          ConditionExpression: 'attribute_exists(#pk) AND #status = :received',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#status': 'status' },
          ExpressionAttributeValues: { ':at': { S: at }, ':one': { N: '1' }, ':received': { S: 'received' } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  async getRejected(bodySha256: string): Promise<StoredRejectedIpn | undefined> {
    const item = await this.getItem(this.rejectedItemKey(bodySha256));
    return item ? fromRejectedItem(item) : undefined;
  }

  async markReprocessed(bodySha256: string, as: EventKey, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.rejectedItemKey(bodySha256),
          UpdateExpression:
            'SET #status = :reprocessed, reprocessedAt = :at, reprocessedAsPaymentId = :pid, ' +
            'reprocessedAsEvent = :event' +
            (as.revisionHash ? ', reprocessedAsRevisionHash = :rev' : '') +
            ' REMOVE #state',
          ConditionExpression: 'attribute_exists(#pk) AND #status = :rejected',
          ExpressionAttributeNames: {
            '#pk': TABLE_KEYS.partitionKey,
            '#status': 'status',
            '#state': STATE_INDEX.partitionKey,
          },
          ExpressionAttributeValues: {
            ':reprocessed': { S: 'reprocessed' },
            ':rejected': { S: 'rejected' },
            ':at': { S: at },
            ':pid': { S: as.paymentId },
            ':event': { S: as.event },
            ...(as.revisionHash ? { ':rev': { S: as.revisionHash } } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  async updateRejectedIssues(
    bodySha256: string,
    issues: { path: string; message: string }[],
    at: string,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.rejectedItemKey(bodySha256),
          UpdateExpression: 'SET issues = :issues, lastReprocessAttemptAt = :at',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':issues': { S: JSON.stringify(issues) }, ':at': { S: at } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new StoreUnavailableError('UpdateItem', { cause: error });
    }
  }

  private rejectedItemKey(bodySha256: string): Item {
    return {
      [TABLE_KEYS.partitionKey]: { S: rejectedKey(bodySha256) },
      [TABLE_KEYS.sortKey]: { S: REJECTED_SORT_KEY },
    };
  }

  private async queryState(
    state: AttentionState,
    partition: string,
    options: ListStateOptions,
  ): Promise<StateEntry[]> {
    const entries: StateEntry[] = [];
    const pages = this.pages({
      ...statePartitionQuery(partition, options.receivedBefore),
      ScanIndexForward: !options.newestFirst,
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const entry = stateEntryOf(state, item);
        if (entry) entries.push(entry);
      }
      // Per partition, a limit is enough once met: the merge keeps the first `limit` of all of them.
      if (options.limit !== undefined && entries.length >= options.limit) break;
    }
    return entries;
  }

  /** Every page of a Query, following `LastEvaluatedKey`; stop early by leaving the loop. */
  private async *pages(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName' | 'ExclusiveStartKey'>,
  ): AsyncGenerator<QueryCommandOutput> {
    let startKey: Item | undefined;
    do {
      const page = await this.query({ ...input, ExclusiveStartKey: startKey });
      yield page;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private async query(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
  ): Promise<QueryCommandOutput> {
    try {
      return await this.client.send(new QueryCommand({ ...input, TableName: this.tableName }));
    } catch (error) {
      throw new StoreUnavailableError(`Query on ${input.IndexName ?? 'table'}`, { cause: error });
    }
  }

  private async getItem(key: Item): Promise<Item | undefined> {
    try {
      const response = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return response.Item;
    } catch (error) {
      throw new StoreUnavailableError('GetItem', { cause: error });
    }
  }
}
