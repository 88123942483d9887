/**
 * The ingest handler, unchanged, against dynalite and local-aws-sqs on 127.0.0.1: the same module a
 * Lambda runs, configured by environment and reaching the servers through the SDK's endpoint settings.
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ipnJson, ipnSamples, OTHER_SECRET, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';
import { type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

let aws: LocalAws;
let handler: Handler;
const logged: string[] = [];
const realStdoutWrite = process.stdout.write.bind(process.stdout);

beforeAll(async () => {
  aws = await startLocalAws();
  Object.assign(process.env, aws.env, {
    OKEPAY_WEBHOOK_SECRETS: JSON.stringify([TEST_SECRET, OTHER_SECRET]),
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  // Everything the handler logs (Powertools JSON lines and EMF metrics go to stdout) is kept for the
  // redaction test below.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(chunk.toString());
    return realStdoutWrite(chunk, ...rest);
  }) as typeof process.stdout.write;
  ({ handler } = (await import('../../functions/ingest/handler.ts')) as { handler: Handler });
});

afterAll(async () => {
  process.stdout.write = realStdoutWrite;
  await aws.close();
});

const now = () => Math.floor(Date.now() / 1000);

async function post(
  body: Buffer | string,
  options: { base64?: boolean; headers?: Record<string, string> } = {},
) {
  const headers = { ...signedHeaders(body, { timestamp: now() }), ...options.headers };
  const response = await handler(httpApiEvent(body, headers, { base64: options.base64 }));
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

async function drainQueue(): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.queues.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages);
  }
}

async function storedItem(paymentId: string, event: string) {
  const { Item } = await aws.dynamoDb.send(
    new GetItemCommand({
      TableName: aws.tableName,
      Key: { pk: { S: `PAYMENT#${paymentId}` }, sk: { S: `EVENT#${event}` } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe('ingest handler with DynamoDB and SQS servers', () => {
  it.each([...ipnSamples().entries()])('stores and enqueues the signed sample %s', async (_name, body) => {
    const payload = JSON.parse(body.toString()) as { payment_id: string; event: string };

    await expect(post(body)).resolves.toEqual({ status: 200, body: { status: 'accepted' } });

    const item = await storedItem(payload.payment_id, payload.event);
    expect(item?.status?.S).toBe('received');
    expect(Buffer.from(item?.body?.B ?? []).equals(body)).toBe(true);
    const messages = await drainQueue();
    expect(messages.map((message) => JSON.parse(message.Body ?? '{}'))).toEqual([
      expect.objectContaining({ v: 1, paymentId: payload.payment_id, event: payload.event }),
    ]);
  });

  it('verifies the decoded bytes of a base64 body', async () => {
    const body = ipnJson({ payment_id: 'pay_base64' });
    await expect(post(body, { base64: true })).resolves.toEqual({
      status: 200,
      body: { status: 'accepted' },
    });
    await drainQueue();
  });

  it('answers a redelivery of the same IPN without a second item', async () => {
    const body = ipnJson({ payment_id: 'pay_redelivered' });
    await post(body);
    await post(body);
    const { Items = [] } = await aws.dynamoDb.send(
      new ScanCommand({
        TableName: aws.tableName,
        FilterExpression: 'paymentId = :id',
        ExpressionAttributeValues: { ':id': { S: 'pay_redelivered' } },
      }),
    );
    expect(Items).toHaveLength(1);
    await drainQueue();
  });

  it.each([
    ['an unsigned request', { 'x-okepay-signature': '' }, 401, 'missing_signature'],
    [
      'a wrong signature',
      { 'x-okepay-signature': `t=${now()},v1=${'0'.repeat(64)}` },
      401,
      'no_matching_signature',
    ],
    [
      'a stale signature',
      { 'x-okepay-signature': `t=${now() - 3600},v1=${'0'.repeat(64)}` },
      401,
      'timestamp_outside_tolerance',
    ],
  ])('refuses %s with 401 and writes nothing', async (_name, headers, status, reason) => {
    const body = ipnJson({ payment_id: 'pay_refused' });
    await expect(post(body, { headers })).resolves.toEqual({
      status,
      body: { error: 'invalid_signature', reason, message: expect.any(String) },
    });
    expect(await storedItem('pay_refused', 'payment.succeeded')).toBeUndefined();
    expect(await drainQueue()).toEqual([]);
  });

  it('answers 400 with the issues for a signed but invalid IPN, and enqueues nothing', async () => {
    const result = await post(ipnJson({ payment_id: 'pay_invalid', amount: '12.345' }));
    expect(result).toEqual({
      status: 400,
      body: {
        error: 'invalid_payload',
        errors: [
          {
            path: 'amount',
            message:
              'EUR allows at most 2 decimal digits other than trailing zeros; 12.345 is not a whole number of its minor unit',
          },
        ],
      },
    });
    expect(await drainQueue()).toEqual([]);
  });

  it('answers 413 for a body over 256 KiB', async () => {
    const body = ipnJson({ padding: 'x'.repeat(256 * 1024) });
    await expect(post(body)).resolves.toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
  });

  it('answers 400 for a base64 flag on a body that is not base64', async () => {
    const event = httpApiEvent('not base64!', signedHeaders('x'));
    event.isBase64Encoded = true;
    const response = await handler(event);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: 'invalid_body_encoding' });
  });

  it('answers 503 when SQS is down after the put, and the retry enqueues the stored event', async () => {
    const body = ipnJson({ payment_id: 'pay_sqs_down' });
    await aws.stopSqs();
    try {
      await expect(post(body)).resolves.toMatchObject({
        status: 503,
        body: { error: 'temporarily_unavailable' },
      });
      expect((await storedItem('pay_sqs_down', 'payment.succeeded'))?.status?.S).toBe('received');
    } finally {
      await aws.restartSqs();
    }
    await expect(post(body)).resolves.toEqual({ status: 200, body: { status: 'accepted' } });
    const messages = await drainQueue();
    expect(messages.map((message) => JSON.parse(message.Body ?? '{}').paymentId)).toEqual(['pay_sqs_down']);
  });

  it('never logs the webhook secret, nor the customer e-mail or IP address from the payload', async () => {
    const succeeded = ipnSamples().get('payment-succeeded');
    expect(succeeded?.toString()).toContain('buyer@example.com');
    const body = ipnJson({
      payment_id: 'pay_private',
      customer: { email: 'private.buyer@example.org', ip: '192.0.2.199' },
    });
    const before = logged.length;
    await post(body);
    await post(body);
    await post(
      ipnJson({
        payment_id: 'pay_private_bad',
        amount: 'x',
        customer: { email: 'private.buyer@example.org' },
      }),
    );
    await post(body, { headers: { 'x-okepay-signature': `t=${now()},v1=${'0'.repeat(64)}` } });
    await drainQueue();
    const output = logged.join('');

    expect(logged.length).toBeGreaterThan(before);
    expect(output).toContain('pay_private');
    for (const secret of [
      TEST_SECRET,
      OTHER_SECRET,
      'private.buyer@example.org',
      '192.0.2.199',
      'buyer@example.com',
      '203.0.113.42',
    ]) {
      expect(output).not.toContain(secret);
    }
  });
});
