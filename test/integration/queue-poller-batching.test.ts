/**
 * The local queue poller's batching window against the local SQS server: it fills a batch for up to
 * the window, as Lambda's event source does, so bench/batching-window.ts measures what the window buys.
 */
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '../../functions/local/aws-servers.ts';
import { QueuePoller } from '../../functions/local/queue-poller.ts';
import { type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

let aws: LocalAws;
let poller: QueuePoller | undefined;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 30 });
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

afterAll(async () => {
  await aws.close();
});

function pollerWith(options: { batchSize?: number; maxBatchingWindowMs?: number }) {
  const batches: number[] = [];
  poller = new QueuePoller({
    sqs: aws.sqs,
    queueUrl: aws.queues.queueUrl,
    queueArn: aws.queues.queueArn,
    region: LOCAL_REGION,
    functionTimeoutMs: 30_000,
    handler: async (event: SQSEvent) => {
      batches.push(event.Records.length);
      return { batchItemFailures: [] };
    },
    ...options,
  });
  return { poller, batches };
}

const send = (body: string) =>
  aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.queues.queueUrl, MessageBody: body }));

describe('QueuePoller batching window', () => {
  it('with no window, invokes with what the first receive returned', async () => {
    const { poller: p, batches } = pollerWith({});
    await send('a');
    const pending = p.pollOnce();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await send('b');
    expect(await pending).toBe(1);
    expect(await p.pollOnce()).toBe(1);
    expect(batches).toEqual([1, 1]);
  });

  it('waits up to the window for more messages and invokes once with both', async () => {
    const { poller: p, batches } = pollerWith({ maxBatchingWindowMs: 1_000 });
    await send('a');
    const started = Date.now();
    const pending = p.pollOnce();
    setTimeout(() => void send('b'), 200);
    expect(await pending).toBe(2);
    expect(batches).toEqual([2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('invokes as soon as the batch is full, without waiting out the window', async () => {
    const { poller: p, batches } = pollerWith({ batchSize: 3, maxBatchingWindowMs: 1_500 });
    await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: aws.queues.queueUrl,
        Entries: ['a', 'b', 'c', 'd'].map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
    const started = Date.now();
    expect(await p.pollOnce()).toBe(3);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await p.pollOnce()).toBe(1);
    expect(batches[0]).toBe(3);
  });

  it('gathers batches above 10 over several receives and deletes them all', async () => {
    const { poller: p, batches } = pollerWith({ batchSize: 25, maxBatchingWindowMs: 3_000 });
    for (let start = 0; start < 25; start += 10) {
      await aws.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: aws.queues.queueUrl,
          Entries: Array.from({ length: Math.min(10, 25 - start) }, (_, index) => ({
            Id: String(index),
            MessageBody: `m${start + index}`,
          })),
        }),
      );
    }
    expect(await p.pollOnce()).toBe(25);
    expect(batches).toEqual([25]);
    expect(await p.pollOnce()).toBe(0);
  });
});
