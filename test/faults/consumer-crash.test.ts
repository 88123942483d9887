/**
 * The consumer dies between PutEvents and marking the item published (in Lambda: a timeout, an
 * out-of-memory kill). Nothing was deleted from the queue, so the message comes back and the event is
 * published again: the duplicate carries the same detail.eventId, so subscribers can drop it.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerSqsHandler } from '../../functions/consumer/sqs-handler.ts';
import { receiveIpn } from '../../functions/ingest/receive-ipn.ts';
import { LOCAL_REGION } from '../../functions/local/aws-servers.ts';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import { QueuePoller, type SqsHandler } from '../../functions/local/queue-poller.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { SqsIpnQueue } from '../../functions/shared/queue/sqs-ipn-queue.ts';
import { StaticWebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { RecordingLog, RecordingMetrics } from '../helpers/in-memory.ts';
import { ipnJson, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';
import { type LocalAws, startLocalAws, TEST_CREDENTIALS } from '../helpers/local-aws.ts';

let aws: LocalAws;
let bus: EventBusServer;

beforeAll(async () => {
  // A 1 s visibility timeout stands for Lambda's retry delay, so the message comes back quickly.
  aws = await startLocalAws({ visibilityTimeoutSeconds: 1 });
  bus = await startEventBusServer({
    buses: ['crash'],
    rules: [{ name: 'all', eventPattern: { source: ['okepay'] }, eventBusName: 'crash' }],
  });
});
afterAll(async () => {
  await bus.close();
  await aws.close();
});

class ProcessKilled extends Error {}

describe('a consumer killed between PutEvents and marking published', () => {
  it('publishes the event again after the message comes back, with the same eventId', async () => {
    const store = new DynamoDbEventStore(aws.dynamoDb, aws.tableName);
    const eventBridge = new EventBridgeClient({
      region: LOCAL_REGION,
      credentials: TEST_CREDENTIALS,
      endpoint: bus.url,
    });
    const body = ipnJson({ payment_id: 'pay_crash' });
    await receiveIpn(
      {
        headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) }),
        rawBody: Buffer.from(body),
      },
      {
        store,
        queue: new SqsIpnQueue(aws.sqs, aws.queues.queueUrl),
        secrets: new StaticWebhookSecrets([TEST_SECRET]),
        now: Date.now,
        log: new RecordingLog(),
        metrics: new RecordingMetrics(),
        settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 1 },
      },
    );
    const consumerWith = (storeForConsumer: DynamoDbEventStore) =>
      createConsumerSqsHandler({
        store: storeForConsumer,
        bus: new EventBridgeEventBus(eventBridge, 'crash'),
        eventSource: 'okepay',
        now: Date.now,
        log: new RecordingLog(),
        metrics: new RecordingMetrics(),
      });

    // First life: PutEvents goes through, then the process dies before the conditional update.
    const dying = Object.create(store) as DynamoDbEventStore;
    dying.markPublished = () => Promise.reject(new ProcessKilled('killed before marking published'));
    const firstLife = consumerWith(dying);
    const killedHandler: SqsHandler = async (event, context) => {
      const response = await firstLife(event, context);
      // A dead process answers nothing and deletes nothing: every record comes back.
      if (response.batchItemFailures.length > 0) throw new ProcessKilled('process died');
      return response;
    };
    // WaitTimeSeconds 0: local-aws-sqs keeps a long poll open for its whole wait, and would hand the same
    // message back twice once its 1 s visibility timeout passed within it.
    const poll = (handler: SqsHandler) =>
      new QueuePoller({
        sqs: aws.sqs,
        queueUrl: aws.queues.queueUrl,
        queueArn: aws.queues.queueArn,
        region: LOCAL_REGION,
        handler,
        functionTimeoutMs: 30_000,
      }).pollOnce(0);

    expect(await poll(killedHandler)).toBe(1);
    expect(bus.events).toHaveLength(1);
    expect((await store.getMany([{ paymentId: 'pay_crash', event: 'payment.succeeded' }]))[0]?.status).toBe(
      'received',
    );

    // Second life, after the visibility timeout: the message is back and is published again.
    const secondLife = consumerWith(store);
    let received = 0;
    for (let i = 0; i < 10 && received === 0; i++)
      received = await poll((event, context) => secondLife(event, context));

    expect(received).toBe(1);
    expect(bus.events).toHaveLength(2);
    const eventIds = bus.events.map((event) => (event.detail as { eventId: string }).eventId);
    expect(eventIds).toEqual([
      eventIdFor('pay_crash', 'payment.succeeded'),
      eventIdFor('pay_crash', 'payment.succeeded'),
    ]);
    expect(bus.events[0]?.id).not.toBe(bus.events[1]?.id);
    expect((await store.getMany([{ paymentId: 'pay_crash', event: 'payment.succeeded' }]))[0]?.status).toBe(
      'published',
    );
    eventBridge.destroy();
  });
});
