import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  ORDER_REF_INDEX,
  orderRefKey,
  paymentKey,
  RECEIVED_DAY_INDEX,
  receivedDayKeys,
  TABLE_KEYS,
} from '../shared/store/table-design.ts';
import { SelectionQueryError } from './errors.ts';
import type { ReplayCandidate, SelectionQuery, StoredEventQuery } from './stored-event-query.ts';

type Item = Record<string, AttributeValue>;

const PAYMENT_PREFIX = paymentKey('');
/** What a candidate needs; all of it is in the indexes' projection, so no request reads a body. */
const PROJECTION = {
  ProjectionExpression: '#pk, #sk, paymentId, #event, orderRef, #status, receivedAt',
  ExpressionAttributeNames: {
    '#pk': TABLE_KEYS.partitionKey,
    '#sk': TABLE_KEYS.sortKey,
    '#event': 'event',
    '#status': 'status',
  },
};
/** Statuses a replay publishes: never a held or discarded revision, nor a rejected body. */
const REPLAYABLE = new Set(['received', 'published']);
const REVISION_MARK = '#REV#';

function candidateOf(item: Item): ReplayCandidate | undefined {
  // Rejected bodies (REJECTED#) share the day index, and replay progress items (REPLAY#) the table.
  if (!item[TABLE_KEYS.partitionKey]?.S?.startsWith(PAYMENT_PREFIX)) return undefined;
  const paymentId = item.paymentId?.S;
  const event = item.event?.S;
  const orderRef = item.orderRef?.S;
  const status = item.status?.S;
  const receivedAt = item.receivedAt?.S;
  if (!paymentId || !event || orderRef === undefined || !status || !receivedAt) return undefined;
  if (!REPLAYABLE.has(status)) return undefined;
  // A revision's sort key carries its content hash: EVENT#<event>#REV#<hash> (table-design.ts).
  const sortKey = item[TABLE_KEYS.sortKey]?.S ?? '';
  const mark = sortKey.indexOf(REVISION_MARK);
  const revisionHash = mark < 0 ? undefined : sortKey.slice(mark + REVISION_MARK.length);
  return { paymentId, event, ...(revisionHash ? { revisionHash } : {}), orderRef, status, receivedAt };
}

/** The sort-key condition for `receivedKey` in [from, to): see `orderKeyOf` for why a string range is exact. */
function rangeCondition(from: string | undefined, to: string): { condition: string; values: Item } {
  return from === undefined
    ? { condition: '#rk < :to', values: { ':to': { S: to } } }
    : { condition: '#rk BETWEEN :from AND :to', values: { ':from': { S: from }, ':to': { S: to } } };
}

/** {@link StoredEventQuery} on the events table: Query on `pk`, the two indexes, or Scan. */
export class DynamoDbStoredEventQuery implements StoredEventQuery {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async run(query: SelectionQuery): Promise<ReplayCandidate[]> {
    switch (query.kind) {
      case 'payment':
        return this.query({
          TableName: this.tableName,
          // The table itself allows a consistent read: a payment's newest event is not missed.
          ConsistentRead: true,
          KeyConditionExpression: '#pk = :pk',
          ...PROJECTION,
          ExpressionAttributeValues: { ':pk': { S: paymentKey(query.paymentId) } },
        });
      case 'order-ref': {
        const range = rangeCondition(query.from, query.to);
        return this.query({
          TableName: this.tableName,
          IndexName: ORDER_REF_INDEX.name,
          KeyConditionExpression: `#part = :part AND ${range.condition}`,
          ...PROJECTION,
          ExpressionAttributeNames: {
            ...PROJECTION.ExpressionAttributeNames,
            '#part': ORDER_REF_INDEX.partitionKey,
            '#rk': ORDER_REF_INDEX.sortKey,
          },
          ExpressionAttributeValues: { ':part': { S: orderRefKey(query.orderRef) }, ...range.values },
        });
      }
      case 'received-day': {
        // A day is 16 shards and the unsharded key of older items (table-design.ts): one Query each,
        // in parallel; the caller orders the union by receivedKey (selectCandidates), so it is exact.
        const range = rangeCondition(query.from, query.to);
        const shards = await Promise.all(
          receivedDayKeys(query.day).map((partition) =>
            this.query({
              TableName: this.tableName,
              IndexName: RECEIVED_DAY_INDEX.name,
              KeyConditionExpression: `#part = :part AND ${range.condition}`,
              ...PROJECTION,
              ExpressionAttributeNames: {
                ...PROJECTION.ExpressionAttributeNames,
                '#part': RECEIVED_DAY_INDEX.partitionKey,
                '#rk': RECEIVED_DAY_INDEX.sortKey,
              },
              ExpressionAttributeValues: { ':part': { S: partition }, ...range.values },
            }),
          ),
        );
        return shards.flat();
      }
      case 'scan':
        return this.scan({
          TableName: this.tableName,
          ...PROJECTION,
          FilterExpression: 'begins_with(#pk, :payment)',
          ExpressionAttributeValues: { ':payment': { S: PAYMENT_PREFIX } },
        });
    }
  }

  private query(input: QueryCommandInput): Promise<ReplayCandidate[]> {
    const operation = input.IndexName ? `Query on ${input.IndexName}` : 'Query';
    return this.collect(operation, (startKey) =>
      this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey })),
    );
  }

  private scan(input: ScanCommandInput): Promise<ReplayCandidate[]> {
    return this.collect('Scan', (startKey) =>
      this.client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey })),
    );
  }

  /** Follows `LastEvaluatedKey` to the last page. */
  private async collect(
    operation: string,
    send: (startKey: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>,
  ): Promise<ReplayCandidate[]> {
    const found: ReplayCandidate[] = [];
    let startKey: Item | undefined;
    do {
      let page: { Items?: Item[]; LastEvaluatedKey?: Item };
      try {
        page = await send(startKey);
      } catch (error) {
        throw new SelectionQueryError(operation, { cause: error });
      }
      for (const item of page.Items ?? []) {
        const candidate = candidateOf(item);
        if (candidate) found.push(candidate);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }
}
