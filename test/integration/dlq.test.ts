/**
 * The DLQ commands against real servers on 127.0.0.1: records poisoned for the consumer (a bus that
 * refuses every entry, a body that is no reference, a reference to nothing) reach the DLQ through the
 * real consumer handler and the queue's redrive policy; `dlq list` says why each failed, and after
 * the bus is fixed `dlq redrive` moves them back and the consumer publishes the one that can be.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/commands/command.ts';
import { runDlqCommand } from '../../bin/commands/dlq.ts';
import { type EventBusServer, startEventBusServer } from '../../functions/local/event-bus-server.ts';
import type { DeadLetterDiagnosis } from '../../functions/operations/dead-letters/diagnose-dead-letters.ts';
import type { PaymentEventDetail } from '../../functions/shared/canonical/payment-event.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ipnJson, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';
import { type LocalAws, startLocalAws } from '../helpers/local-aws.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

type IngestHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const BUS = 'okepay-dlq-test';
let aws: LocalAws;
let bus: EventBusServer;
let consumer: ConsumerHandler;
let dataDir: string;

/** A short budget, so that the consumer gives up on a failing bus after a fraction of a second. */
const context = { getRemainingTimeInMillis: () => 3_300 } as unknown as Context;

/**
 * One pass of Lambda's event source mapping, with no retry delay: receive a batch, invoke the
 * consumer, delete what it did not report as failed, and make the failed ones visible again at once
 * (in AWS they wait out the visibility timeout). SQS moves a message to the DLQ on the receive after
 * maxReceiveCount (3 here). Receiving with a visibility timeout of 0 instead would hand local-aws-sqs's
 * caller the same message several times in one batch.
 */
async function consumeOnce(): Promise<number> {
  const { Messages = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: aws.queues.queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 30,
    }),
  );
  if (Messages.length === 0) return 0;
  const records = Messages.map(
    (message) =>
      ({
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        attributes: {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: aws.queues.queueArn,
        awsRegion: 'us-east-1',
      }) as unknown as SQSRecord,
  );
  let failed: Set<string>;
  try {
    const { batchItemFailures } = await consumer({ Records: records }, context);
    failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
  } catch {
    // As Lambda does: an invocation that throws (Powertools does when every record failed) fails the batch.
    failed = new Set(Messages.map((message) => message.MessageId ?? ''));
  }
  const entries = (messages: typeof Messages) =>
    messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' }));
  const done = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
  const retry = Messages.filter((message) => failed.has(message.MessageId ?? ''));
  if (done.length > 0) {
    await aws.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: aws.queues.queueUrl, Entries: entries(done) }),
    );
  }
  if (retry.length > 0) {
    await aws.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: aws.queues.queueUrl,
        Entries: entries(retry).map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
      }),
    );
  }
  return Messages.length;
}

async function consumeUntilEmpty(): Promise<void> {
  for (let pass = 0; pass < 20; pass++) if ((await consumeOnce()) === 0) return;
  throw new Error('the queue did not drain');
}

async function count(queueUrl: string): Promise<number> {
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

const dlq = (args: string[], terminal = recordingTerminal()) =>
  runDlqCommand([...args, '--local', '--data-dir', dataDir], terminal, { pollMs: 100 });

beforeAll(async () => {
  aws = await startLocalAws();
  bus = await startEventBusServer({ buses: [BUS] });
  Object.assign(process.env, aws.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
    EVENT_BUS_NAME: BUS,
    OKEPAY_WEBHOOK_SECRETS: TEST_SECRET,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const ingest = ((await import('../../functions/ingest/handler.ts')) as { handler: IngestHandler }).handler;
  consumer = ((await import('../../functions/consumer/handler.ts')) as { handler: ConsumerHandler }).handler;

  dataDir = mkdtempSync(join(tmpdir(), 'okepay-dlq-'));
  writeFileSync(
    join(dataDir, 'endpoints.json'),
    JSON.stringify({
      region: 'us-east-1',
      dynamodb: aws.dynamoDbUrl,
      sqs: aws.sqsUrl,
      eventbridge: bus.url,
      tableName: aws.tableName,
      ...aws.queues,
      eventBusName: BUS,
      eventSource: 'okepay',
      pid: process.pid,
    }),
  );

  // The bus refuses everything: the accepted IPN cannot be published.
  bus.setFaults({ failEntry: () => true });
  const body = ipnJson({ payment_id: 'pay_dlq', order_ref: 'ORDER-DLQ' });
  const accepted = await ingest(
    httpApiEvent(body, signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) })),
  );
  expect(accepted.statusCode).toBe(200);
  await aws.sqs.send(
    new SendMessageCommand({ QueueUrl: aws.queues.queueUrl, MessageBody: 'not json at all' }),
  );
  await aws.sqs.send(
    new SendMessageCommand({
      QueueUrl: aws.queues.queueUrl,
      MessageBody: JSON.stringify({ v: 1, paymentId: 'pay_nowhere', event: 'payment.succeeded' }),
    }),
  );
  await consumeUntilEmpty();
}, 30_000);

afterAll(async () => {
  await bus?.close();
  await aws?.close();
});

describe('okepay dlq', () => {
  it('the poisoned records reached the DLQ after maxReceiveCount receives', async () => {
    expect(await count(aws.queues.queueUrl)).toBe(0);
    expect(await count(aws.queues.deadLetterQueueUrl)).toBe(3);
  });

  it('list shows each message with the reason it failed, and leaves them in place', async () => {
    const terminal = recordingTerminal();
    expect(await dlq(['list', '--json'], terminal)).toBe(0);
    const { messages } = JSON.parse(terminal.stdout()) as { messages: DeadLetterDiagnosis[] };
    const byVerdict = Object.fromEntries(messages.map((m) => [m.verdict, m]));
    expect(Object.keys(byVerdict).sort()).toEqual(['poison', 'publish-failed', 'stored-event-missing']);
    expect(byVerdict['publish-failed']).toMatchObject({
      key: { paymentId: 'pay_dlq', event: 'payment.succeeded' },
      reason: expect.stringMatching(/^publish failed; see consumer logs/),
      sourceArn: aws.queues.queueArn,
    });
    expect(byVerdict['stored-event-missing']?.reason).toBe('stored event missing (expired or deleted)');
    expect(byVerdict.poison?.reason).toMatch(/^poison message: the body is not JSON/);

    expect(await count(aws.queues.deadLetterQueueUrl)).toBe(3);
    const again = recordingTerminal();
    await dlq(['list'], again);
    expect(again.stdout()).toMatch(/^3 messages in the DLQ of the local pipeline/);
    expect(again.stdout()).toMatch(/MESSAGE ID +SENT AT +PAYMENT \/ EVENT +REASON/);
    expect(again.stdout()).toMatch(/pay_dlq payment\.succeeded +publish failed; see consumer logs/);
  });

  it('after the fix, redrive moves them back, and the consumer publishes the event', async () => {
    bus.setFaults({});
    const terminal = recordingTerminal();
    expect(await dlq(['redrive'], terminal)).toBe(0);
    expect(terminal.stdout()).toMatch(/^Moved 3 messages back to the queue of the local pipeline/);
    expect(await count(aws.queues.deadLetterQueueUrl)).toBe(0);

    await consumeUntilEmpty();
    const published = bus.events.map((event) => event.detail as unknown as PaymentEventDetail);
    expect(published.map((detail) => detail.paymentId)).toEqual(['pay_dlq']);
    expect(published[0]?.replay).toBeUndefined();
    const [stored] = await new DynamoDbEventStore(aws.dynamoDb, aws.tableName).getMany([
      { paymentId: 'pay_dlq', event: 'payment.succeeded' },
    ]);
    expect(stored?.status).toBe('published');

    // The two that can never succeed are back in the DLQ.
    const listed = recordingTerminal();
    await dlq(['list', '--json'], listed);
    const { messages } = JSON.parse(listed.stdout()) as { messages: DeadLetterDiagnosis[] };
    expect(messages.map((m) => m.verdict).sort()).toEqual(['poison', 'stored-event-missing']);
  });

  it('list walks a DLQ of more than one receive (10 messages), and stops at --max', async () => {
    for (let n = 0; n < 12; n++) {
      await aws.sqs.send(
        new SendMessageCommand({ QueueUrl: aws.queues.deadLetterQueueUrl, MessageBody: `junk ${n}` }),
      );
    }
    const all = recordingTerminal();
    await dlq(['list', '--json'], all);
    const { messages } = JSON.parse(all.stdout()) as { messages: DeadLetterDiagnosis[] };
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(14);

    const some = recordingTerminal();
    await dlq(['list', '--max', '5'], some);
    expect(some.stdout()).toMatch(/^5 messages in the DLQ of .* \(the first 5; --max shows more\):/);
    expect(await count(aws.queues.deadLetterQueueUrl)).toBe(14);
  });

  it('purge refuses to delete without --yes when nobody can answer the question', async () => {
    await expect(dlq(['purge'])).rejects.toThrow(UsageError);
    await expect(dlq(['purge'])).rejects.toThrow(/pass --yes to confirm when not at a terminal/);
  });

  it('purge asks first, and does nothing unless told "yes"', async () => {
    const terminal = recordingTerminal({ interactive: true, answer: 'no' });
    expect(await dlq(['purge'], terminal)).toBe(1);
    expect(terminal.stdout()).toBe('Not purged.\n');
    expect(await count(aws.queues.deadLetterQueueUrl)).toBe(14);
  });

  it('purge --yes requests the purge', async () => {
    const terminal = recordingTerminal();
    expect(await dlq(['purge', '--yes'], terminal)).toBe(0);
    expect(terminal.stdout()).toMatch(
      /^Purge of about 14 messages requested; SQS deletes them within 60 seconds/,
    );
  });

  it.each([
    [[], /say what to do: list, redrive or purge/],
    [['peek'], /unknown subcommand "peek"/],
    [['redrive', '--yes'], /--yes applies to dlq purge/],
    [['list', '--max', '0'], /--max must be a whole number from 1 to 1000/],
  ])('refuses %j with a usage error', async (args, message) => {
    await expect(dlq(args)).rejects.toThrow(message);
  });
});
