import { DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStoredEventQuery } from '../../functions/replay/dynamodb-stored-event-query.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import {
  StoredEventNotFoundError,
  StoreUnavailableError,
  UnreadableStoredItemError,
} from '../../functions/shared/store/errors.ts';
import type { StoredEvent } from '../../functions/shared/store/event-store.ts';
import {
  ORDER_REF_INDEX,
  RECEIVED_DAY_INDEX,
  RECEIVED_DAY_SHARDS,
  receivedDayKey,
} from '../../functions/shared/store/table-design.ts';
import { type LocalAws, startLocalAws, TEST_CREDENTIALS } from '../helpers/local-aws.ts';

let aws: LocalAws;
let store: DynamoDbEventStore;

beforeAll(async () => {
  aws = await startLocalAws();
  store = new DynamoDbEventStore(aws.dynamoDb, aws.tableName);
});
afterAll(() => aws.close());

let counter = 0;
function storedEvent(overrides: Partial<StoredEvent> = {}): StoredEvent {
  counter += 1;
  return {
    paymentId: `pay_${counter}`,
    event: 'payment.succeeded',
    orderRef: `ORDER-${counter}`,
    body: Buffer.from(`{"n":${counter},"bytes":"\u00e9"}`),
    bodySha256: 'a'.repeat(64),
    signatureTimestamp: 1_778_417_220,
    receivedAt: '2026-05-10T12:47:00.000Z',
    occurredAt: '2026-05-10T12:46:52Z',
    status: 'received',
    revision: 1,
    conflictCount: 0,
    expiresAt: 1_786_193_220,
    ...overrides,
  };
}

describe('DynamoDbEventStore', () => {
  it('creates an item once and returns the stored one on the second put', async () => {
    const event = storedEvent();
    await expect(store.putIfAbsent(event)).resolves.toEqual({ created: true });

    const second = await store.putIfAbsent({
      ...event,
      body: Buffer.from('other'),
      bodySha256: 'b'.repeat(64),
    });

    expect(second).toEqual({ created: false, existing: event });
  });

  it('lets exactly one of 20 concurrent puts of the same key win', async () => {
    const event = storedEvent();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.putIfAbsent(event)));
    expect(results.filter((result) => result.created)).toHaveLength(1);
  });

  it('keeps the exact body bytes, including bytes that are not UTF-8', async () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const event = storedEvent({ body });
    await store.putIfAbsent(event);
    const [read] = await store.getMany([event]);
    expect(read?.body.equals(body)).toBe(true);
  });

  it('hands out revision numbers from the first copy, one per claim, without changing its body', async () => {
    const event = storedEvent();
    await store.putIfAbsent(event);
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => store.claimRevisionNumber(event, '2026-05-10T12:48:00.000Z')),
    );
    expect(claims.sort()).toEqual([2, 3, 4, 5, 6]);
    const read = await store.get(event);
    expect(read).toEqual({ ...event, conflictCount: 5 });
  });

  it('refuses a revision number when there is no first copy', async () => {
    await expect(
      store.claimRevisionNumber({ paymentId: 'pay_none', event: 'payment.refunded' }, 'x'),
    ).rejects.toThrow(StoredEventNotFoundError);
  });

  it('stores a revision beside its first copy and reads both by key', async () => {
    const first = storedEvent({ event: 'payment.refunded' });
    const revision = storedEvent({
      paymentId: first.paymentId,
      event: 'payment.refunded',
      revisionHash: 'f'.repeat(64),
      revision: 2,
      status: 'held',
    });
    await store.putIfAbsent(first);
    await expect(store.putIfAbsent(revision)).resolves.toEqual({ created: true });
    await expect(store.putIfAbsent(revision)).resolves.toMatchObject({ created: false });
    const read = await store.getMany([first, revision]);
    expect(read.map((item) => [item.revision, item.status, item.revisionHash])).toEqual(
      expect.arrayContaining([
        [1, 'received', undefined],
        [2, 'held', 'f'.repeat(64)],
      ]),
    );
  });

  it('remembers a content as seen, and says expired once its body has expired', async () => {
    const marker = {
      paymentId: 'pay_seen',
      event: 'payment.succeeded',
      contentSha256: '1'.repeat(64),
      bodyExpiresAt: 1_000,
      expiresAt: 9_000,
      deliveredAt: '2026-05-10T12:47:00.000Z',
      signatureSkewSeconds: -2,
    };
    await expect(store.rememberSeen(marker, 500)).resolves.toBe('new');
    // A later delivery does not push the body's expiry out.
    await expect(store.rememberSeen({ ...marker, bodyExpiresAt: 5_000 }, 900)).resolves.toBe('stored');
    await expect(store.rememberSeen({ ...marker, bodyExpiresAt: 5_000 }, 1_000)).resolves.toBe('expired');
    await expect(store.rememberSeen({ ...marker, contentSha256: '2'.repeat(64) }, 1_000)).resolves.toBe(
      'new',
    );
  });

  it("returns a payment's events with their history and the deliveries of each content", async () => {
    const first = storedEvent({ paymentId: 'pay_record' });
    await store.putIfAbsent(first);
    const marker = {
      paymentId: 'pay_record',
      event: 'payment.succeeded',
      contentSha256: '3'.repeat(64),
      bodyExpiresAt: 5_000,
      expiresAt: 9_000,
      signatureSkewSeconds: -1,
    };
    await store.rememberSeen({ ...marker, deliveredAt: '2026-05-10T12:47:00.000Z' }, 100);
    await store.rememberSeen(
      { ...marker, deliveredAt: '2026-05-10T12:49:00.000Z', signatureSkewSeconds: -4 },
      100,
    );
    await store.recordPublishFailure(
      first,
      '2026-05-10T12:47:10.000Z',
      'PutEvents failed: ThrottlingException',
    );
    await store.markPublished(first, '2026-05-10T12:47:20.000Z', 'bus-event-1');
    // Once published, a failure is no longer recorded.
    await store.recordPublishFailure(first, '2026-05-10T12:48:00.000Z', 'late');

    const record = await store.paymentRecord('pay_record');

    expect(record.markers).toEqual([
      {
        paymentId: 'pay_record',
        event: 'payment.succeeded',
        contentSha256: '3'.repeat(64),
        bodyExpiresAt: 5_000,
        deliveryCount: 2,
        firstDeliveredAt: '2026-05-10T12:47:00.000Z',
        lastDeliveredAt: '2026-05-10T12:49:00.000Z',
        lastSignatureSkewSeconds: -4,
      },
    ]);
    expect(record.events).toMatchObject([
      {
        paymentId: 'pay_record',
        status: 'published',
        busEventId: 'bus-event-1',
        failureCount: 1,
        lastFailureAt: '2026-05-10T12:47:10.000Z',
        lastFailureReason: 'PutEvents failed: ThrottlingException',
      },
    ]);
  });

  it('returns an item that cannot be read apart, and reads the others', async () => {
    const healthy = storedEvent();
    const broken = storedEvent();
    await store.putIfAbsent(healthy);
    await store.putIfAbsent(broken);
    await aws.dynamoDb.send(
      new UpdateItemCommand({
        TableName: aws.tableName,
        Key: { pk: { S: `PAYMENT#${broken.paymentId}` }, sk: { S: 'EVENT#payment.succeeded' } },
        UpdateExpression: 'REMOVE orderRef',
      }),
    );
    await expect(store.putIfAbsent(broken)).rejects.toThrow(UnreadableStoredItemError);
    const { events, unreadable } = await store.readMany([healthy, broken]);
    expect(events.map((event) => event.paymentId)).toEqual([healthy.paymentId]);
    expect(unreadable).toEqual([
      { key: { paymentId: broken.paymentId, event: 'payment.succeeded' }, error: expect.any(TypeError) },
    ]);
  });

  it('keeps pending, held and rejected items in the state index until they leave that state', async () => {
    const receivedAt = '2031-01-01T00:00:00.000Z';
    const pending = storedEvent({ receivedAt });
    const held = storedEvent({ receivedAt, revisionHash: 'e'.repeat(64), revision: 2, status: 'held' });
    await store.putIfAbsent(pending);
    await store.putIfAbsent(held);
    const mine = (entries: { key?: { paymentId: string } }[]) =>
      entries.filter((entry) => [pending.paymentId, held.paymentId].includes(entry.key?.paymentId ?? ''));

    expect(mine(await store.listState('pending'))).toMatchObject([{ key: { paymentId: pending.paymentId } }]);
    expect(mine(await store.listState('held'))).toMatchObject([
      { key: { paymentId: held.paymentId, revisionHash: 'e'.repeat(64) }, revision: 2, status: 'held' },
    ]);
    expect(mine(await store.listState('pending', { receivedBefore: '2031-01-01T00:00:00.000Z' }))).toEqual(
      [],
    );

    await expect(store.recordSweep(pending, '2031-01-01T00:20:00.000Z')).resolves.toBe(true);
    expect(mine(await store.listState('pending'))).toMatchObject([
      { sweepCount: 1, sweptAt: '2031-01-01T00:20:00.000Z' },
    ]);
    await store.markPublished(pending, '2031-01-01T00:21:00.000Z');
    await expect(store.recordSweep(pending, '2031-01-01T00:25:00.000Z')).resolves.toBe(false);
    expect(mine(await store.listState('pending'))).toEqual([]);

    // Release: held → received, so it becomes pending; a second release finds nothing to do.
    await expect(store.transition(held, 'held', 'received', '2031-01-02T00:00:00.000Z')).resolves.toBe(true);
    // The SDK's retry of that same write (its answer lost) is recognised as ours; another release is not.
    await expect(store.transition(held, 'held', 'received', '2031-01-02T00:00:00.000Z')).resolves.toBe(true);
    await expect(store.transition(held, 'held', 'received', '2031-01-02T00:00:01.000Z')).resolves.toBe(false);
    expect(mine(await store.listState('held'))).toEqual([]);
    expect(mine(await store.listState('pending'))).toMatchObject([{ key: { paymentId: held.paymentId } }]);
    expect(await store.countState('pending')).toBeGreaterThanOrEqual(1);
  });

  it('reprocesses a rejected body once and takes it out of the rejected state', async () => {
    const rejected = {
      body: Buffer.from('{"amount":"5400.00","currency":"JPY"}'),
      bodySha256: '7'.repeat(64),
      signatureTimestamp: 1,
      receivedAt: '2026-05-10T12:47:00.000Z',
      httpStatus: 400,
      issues: [{ path: 'amount', message: 'JPY allows at most 0 decimal digits' }],
      expiresAt: 2,
    };
    await store.recordRejected(rejected);
    const listed = await store.listState('rejected');
    expect(listed.find((entry) => entry.bodySha256 === rejected.bodySha256)).toMatchObject({
      httpStatus: 400,
      issues: rejected.issues,
    });
    await store.updateRejectedIssues(rejected.bodySha256, [{ path: 'x', message: 'still bad' }], 'now');
    expect((await store.getRejected(rejected.bodySha256))?.issues).toEqual([
      { path: 'x', message: 'still bad' },
    ]);
    const as = { paymentId: 'pay_jpy', event: 'payment.succeeded' };
    await expect(store.markReprocessed(rejected.bodySha256, as, 'later')).resolves.toBe(true);
    await expect(store.markReprocessed(rejected.bodySha256, as, 'later')).resolves.toBe(false);
    expect(await store.getRejected(rejected.bodySha256)).toMatchObject({
      status: 'reprocessed',
      reprocessedAs: as,
      body: rejected.body,
    });
    expect((await store.listState('rejected')).map((entry) => entry.bodySha256)).not.toContain(
      rejected.bodySha256,
    );
  });

  it('records a rejected body once, keeping the first record', async () => {
    const rejected = {
      body: Buffer.from('{"amount":"ten"}'),
      bodySha256: 'e'.repeat(64),
      signatureTimestamp: 1,
      receivedAt: '2026-05-10T12:47:00.000Z',
      httpStatus: 400,
      issues: [{ path: 'amount', message: 'bad' }],
      expiresAt: 2,
    };
    await store.recordRejected(rejected);
    await expect(store.recordRejected({ ...rejected, httpStatus: 415 })).resolves.toBeUndefined();
    const day = await aws.dynamoDb.send(
      new QueryCommand({
        TableName: aws.tableName,
        IndexName: RECEIVED_DAY_INDEX.name,
        KeyConditionExpression: 'receivedDay = :day',
        FilterExpression: '#status = :rejected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':day': { S: receivedDayKey('2026-05-10T12:47:00.000Z', `REJECTED#${'e'.repeat(64)}`, 'REJECTED') },
          ':rejected': { S: 'rejected' },
        },
      }),
    );
    expect(day.Items).toHaveLength(1);
  });

  it("spreads one day's items over the index's shards", async () => {
    const receivedAt = '2031-02-03T04:05:06.000Z';
    const events = Array.from({ length: 160 }, () => storedEvent({ receivedAt }));
    const partitions = new Set(
      events.map((event) =>
        receivedDayKey(receivedAt, `PAYMENT#${event.paymentId}`, 'EVENT#payment.succeeded'),
      ),
    );
    // 160 items over 32 shards: a bad hash would put them in a handful.
    expect(partitions.size).toBeGreaterThanOrEqual(RECEIVED_DAY_SHARDS - 4);
    expect([...partitions].every((key) => /^DAY#2031-02-03#\d{1,2}$/.test(key))).toBe(true);
  });

  it('finds a day in every shard and in the unsharded key of items stored before the shards', async () => {
    const receivedAt = '2031-03-04T05:06:07.000Z';
    const sharded = storedEvent({ receivedAt });
    await store.putIfAbsent(sharded);
    const legacy = storedEvent({ receivedAt: '2031-03-04T05:06:08.000Z' });
    await store.putIfAbsent(legacy);
    // As the version before the shards wrote it.
    await aws.dynamoDb.send(
      new UpdateItemCommand({
        TableName: aws.tableName,
        Key: { pk: { S: `PAYMENT#${legacy.paymentId}` }, sk: { S: 'EVENT#payment.succeeded' } },
        UpdateExpression: 'SET receivedDay = :day',
        ExpressionAttributeValues: { ':day': { S: 'DAY#2031-03-04' } },
      }),
    );
    const query = new DynamoDbStoredEventQuery(aws.dynamoDb, aws.tableName);
    const found = await query.run({
      kind: 'received-day',
      day: '2031-03-04',
      to: '2031-03-05T00:00:00.000Z',
    });
    expect(found.map((candidate) => candidate.paymentId).sort()).toEqual(
      [sharded.paymentId, legacy.paymentId].sort(),
    );
  });

  it('reads many items at once, more than one BatchGetItem holds, and leaves missing keys out', async () => {
    const events = Array.from({ length: 130 }, () => storedEvent());
    for (const event of events) await store.putIfAbsent(event);
    const missing = { paymentId: 'pay_missing', event: 'payment.succeeded' };

    const read = await store.getMany([...events, missing, events[0] as StoredEvent]);

    expect(read).toHaveLength(130);
    expect(new Set(read.map((event) => event.paymentId))).toEqual(
      new Set(events.map((event) => event.paymentId)),
    );
  });

  it('marks an item published once; the second mark reports a redelivery', async () => {
    const event = storedEvent();
    await store.putIfAbsent(event);
    await expect(store.markPublished(event, '2026-05-10T12:47:05.000Z')).resolves.toBe(true);
    await expect(store.markPublished(event, '2026-05-10T12:47:06.000Z')).resolves.toBe(false);
    const [read] = await store.getMany([event]);
    expect(read).toMatchObject({ status: 'published', publishedAt: '2026-05-10T12:47:05.000Z' });
  });

  it('refuses to mark a missing item published', async () => {
    await expect(store.markPublished({ paymentId: 'nope', event: 'payment.failed' }, 'x')).rejects.toThrow(
      StoredEventNotFoundError,
    );
  });

  it('indexes items for replay by order ref and by received day', async () => {
    const event = storedEvent({ orderRef: 'ORDER-INDEXED', receivedAt: '2026-06-01T00:00:01.000Z' });
    await store.putIfAbsent(event);
    const byOrder = await aws.dynamoDb.send(
      new QueryCommand({
        TableName: aws.tableName,
        IndexName: ORDER_REF_INDEX.name,
        KeyConditionExpression: 'orderRefKey = :order',
        ExpressionAttributeValues: { ':order': { S: 'ORDER#ORDER-INDEXED' } },
      }),
    );
    expect(byOrder.Items?.map((item) => item.paymentId?.S)).toEqual([event.paymentId]);
    const byDay = await aws.dynamoDb.send(
      new QueryCommand({
        TableName: aws.tableName,
        IndexName: RECEIVED_DAY_INDEX.name,
        KeyConditionExpression: 'receivedDay = :day AND receivedKey BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':day': {
            S: receivedDayKey(event.receivedAt, `PAYMENT#${event.paymentId}`, 'EVENT#payment.succeeded'),
          },
          ':from': { S: '2026-06-01T00:00:00' },
          ':to': { S: '2026-06-01T00:00:02' },
        },
      }),
    );
    expect(byDay.Items?.map((item) => item.paymentId?.S)).toEqual([event.paymentId]);
  });

  it('turns an unreachable DynamoDB into StoreUnavailableError', async () => {
    const unreachable = new DynamoDBClient({
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    const broken = new DynamoDbEventStore(unreachable, aws.tableName);
    await expect(broken.putIfAbsent(storedEvent())).rejects.toThrow(StoreUnavailableError);
    await expect(broken.getMany([storedEvent()])).rejects.toThrow(StoreUnavailableError);
    unreachable.destroy();
  });
});
