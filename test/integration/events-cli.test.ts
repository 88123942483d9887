/**
 * `okepay events` against the local pipeline (`--local`) and, through the same code, against a
 * "stack" whose CloudFormation outputs name the local pipeline's table and queues (`--stack`, with the
 * SDK's endpoint settings pointed at the local servers): the path a deployed stack takes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEventsCommand } from '../../bin/commands/events.ts';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from '../helpers/fake-cloudformation.ts';
import { ipnJson, postSignedIpn, RawNumber, TEST_SECRET } from '../helpers/ipn.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

let pipeline: LocalPipeline;
let dataDir: string;
let cloudFormation: FakeCloudFormation;
const saved = { ...process.env };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-events-cli-'));
  pipeline = await startLocalPipeline({ port: 0, dataDir, secrets: [TEST_SECRET], print: () => {} });
  const endpoints = pipeline.endpoints;
  cloudFormation = await startFakeCloudFormation({
    okepay: {
      IpnUrl: endpoints.ipnUrl,
      TableName: endpoints.tableName,
      EventBusName: endpoints.eventBusName,
      QueueUrl: endpoints.queueUrl,
      QueueArn: endpoints.queueArn,
      DeadLetterQueueUrl: endpoints.deadLetterQueueUrl,
      DeadLetterQueueArn: endpoints.deadLetterQueueArn,
    },
  });
  // As on a deployed stack: the endpoints come from the SDK's own settings, not from the command.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
  });

  const post = (body: string) => postSignedIpn(endpoints.ipnUrl, body);
  const refund = (amount: string) =>
    ipnJson({
      event: 'payment.refunded',
      payment_id: 'pay_story',
      order_ref: 'ORDER-STORY',
      amount: new RawNumber(amount),
      occurred_at: '2026-05-10T12:46:52Z',
    });
  await post(ipnJson({ payment_id: 'pay_story', order_ref: 'ORDER-STORY' }));
  await post(refund('10.00'));
  await post(refund('10.00')); // a redelivery
  await post(refund('25.00')); // a second partial refund: held revision
  await post(ipnJson({ payment_id: 'pay_story', amount: new RawNumber('1.005') })); // rejected
  await pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string }).paymentId === 'pay_story' &&
      event['detail-type'] === 'payment.refunded',
    10_000,
  );
  // The bus has it; wait until the consumer has also marked both first copies published.
  const client = new DynamoDBClient({
    region: endpoints.region,
    endpoint: endpoints.dynamodb,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const store = new DynamoDbEventStore(client, endpoints.tableName);
  for (let attempt = 0; attempt < 100; attempt++) {
    const record = await store.paymentRecord('pay_story');
    if (record.events.filter((event) => event.status === 'published').length === 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  client.destroy();
});

afterAll(async () => {
  process.env = saved;
  await cloudFormation.close();
  await pipeline.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const events = async (args: string[]) => {
  const terminal = recordingTerminal({ env: process.env });
  const code = await runEventsCommand(args, terminal);
  return { code, out: terminal.stdout(), err: terminal.stderr() };
};
const local = ['--local', '--data-dir'];

describe('okepay events show', () => {
  it("tells the payment's whole story from the local pipeline", async () => {
    const { code, out } = await events(['show', 'pay_story', ...local, dataDir]);
    expect(code).toBe(0);
    expect(out).toMatch(/^Payment pay_story \(order ORDER-STORY\) in the local pipeline/);
    expect(out).toMatch(/received payment\.succeeded \(content \w{12}\), verdict: accepted/);
    expect(out).toMatch(/received the same payment\.refunded 1 more time \(last here\), verdict: duplicate/);
    expect(out).toMatch(/received payment\.refunded revision 2 .*verdict: revision held/);
    expect(out).toMatch(
      /received a signed body \(\w{12}\) that failed validation, answered 400: amount: EUR allows/,
    );
    expect(out).toMatch(/published payment\.refunded as eventId/);
    expect(out).toMatch(/on the bus as bus event [0-9a-f-]{36}; rules matched: refunds-and-chargebacks/);
    expect(out).toContain(eventIdFor('pay_story', 'payment.succeeded'));
    expect(out).not.toMatch(/Not known here/);
  });

  it('gives the bodies and canonical events with --body, as JSON too', async () => {
    const { out } = await events(['show', 'pay_story', ...local, dataDir, '--body', '--json']);
    const [timeline] = JSON.parse(out) as {
      events: {
        event: string;
        revision: number;
        status: string;
        body: string;
        canonical: { amount: { decimal: string } };
      }[];
      rejected: { body: string }[];
    }[];
    const revision = timeline?.events.find((event) => event.revision === 2);
    expect(revision).toMatchObject({ status: 'held', canonical: { amount: { decimal: '25.00' } } });
    expect(revision?.body).toContain('25.00');
    expect(timeline?.rejected[0]?.body).toContain('1.005');
  });

  it('finds the payments of an order ref', async () => {
    const { out } = await events(['show', '--order-ref', 'ORDER-STORY', ...local, dataDir]);
    expect(out).toMatch(/^Payment pay_story/);
  });

  it('works against a stack through its CloudFormation outputs, and says what a stack cannot know', async () => {
    const { code, out } = await events(['show', 'pay_story', '--stack', 'okepay', '--region', 'us-east-1']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Payment pay_story \(order ORDER-STORY\) in stack okepay in us-east-1/);
    expect(out).toMatch(/received payment\.refunded revision 2/);
    expect(out).toMatch(/Not known here:\n {2}- Which subscriber rules matched: EventBridge does not say/);
    expect(cloudFormation.requests.at(-1)?.get('Action')).toBe('DescribeStacks');
  });

  it('says when nothing is stored for a payment', async () => {
    const { code, out } = await events(['show', 'pay_nobody', ...local, dataDir]);
    expect(code).toBe(1);
    expect(out).toMatch(/Nothing is stored for payment pay_nobody/);
  });
});

describe('okepay events list', () => {
  it('lists the stored events newest first, a page at a time', async () => {
    const first = await events(['list', ...local, dataDir, '--payment-id', 'pay_story', '--limit', '1']);
    expect(first.out).toMatch(/1 event in the local pipeline/);
    expect(first.out).toMatch(/pay_story\s+payment\.refunded/);
    const before = /--before (\S+)/.exec(first.out)?.[1];
    expect(before).toBeDefined();
    const second = await events([
      'list',
      ...local,
      dataDir,
      '--payment-id',
      'pay_story',
      '--limit',
      '1',
      '--before',
      before ?? '',
    ]);
    expect(second.out).toMatch(/pay_story\s+payment\.succeeded/);
  });

  it.each([
    ['held', /pay_story\s+payment\.refunded\s+2\s+ORDER-STORY\s+held/],
    ['rejected', /pay_story\s+-\s+-\s+-\s+rejected\s+amount: EUR allows/],
  ])('lists the %s ones', async (state, row) => {
    const { out } = await events(['list', ...local, dataDir, '--state', state]);
    expect(out).toMatch(row);
  });

  it('lists as JSON on the stack path too', async () => {
    const { out } = await events([
      'list',
      '--stack',
      'okepay',
      '--region',
      'us-east-1',
      '--since',
      new Date(Date.now() - 3_600_000).toISOString(),
      '--json',
    ]);
    const page = JSON.parse(out) as { rows: { paymentId: string; state: string }[] };
    expect(
      page.rows
        .filter((row) => row.paymentId === 'pay_story')
        .map((row) => row.state)
        .sort(),
    ).toEqual(['published', 'published']);
  });
});

describe('okepay events actions', () => {
  it('resends a stored body to the local pipeline, signed again: answered as a duplicate', async () => {
    const dry = await events([
      'resend',
      'pay_story',
      ...local,
      dataDir,
      '--event',
      'payment.succeeded',
      '--dry-run',
    ]);
    expect(dry.out).toMatch(/^Dry run, nothing sent/);
    const sent = await events([
      'resend',
      'pay_story',
      ...local,
      dataDir,
      '--event',
      'payment.succeeded',
      '--yes',
    ]);
    expect(sent).toMatchObject({ code: 0, out: expect.stringMatching(/^200 \{"status":"duplicate"\}/) });
  });

  it('refuses to resend to a stack', async () => {
    await expect(
      events(['resend', 'pay_story', '--stack', 'okepay', '--region', 'us-east-1']),
    ).rejects.toThrow(/resend posts to the local pipeline only/);
  });

  it('releases the held revision through the same code as okepay revisions', async () => {
    const released = await events(['release', 'pay_story', ...local, dataDir, '--yes']);
    expect(released.out).toMatch(/^Released pay_story payment.refunded revision 2/);
    await pipeline.bus.waitForEvent(
      (event) =>
        (event.detail as { paymentId?: string; revision?: number }).paymentId === 'pay_story' &&
        (event.detail as { revision?: number }).revision === 2,
      10_000,
    );
  });

  it('replays one payment, after asking', async () => {
    const refused = await events(['replay', 'pay_story', ...local, dataDir]).catch((error: Error) => error);
    expect(String(refused)).toMatch(/pass --yes to confirm/);
    const { code } = await events([
      'replay',
      'pay_story',
      ...local,
      dataDir,
      '--event',
      'payment.succeeded',
      '--yes',
    ]);
    expect(code).toBe(0);
    await pipeline.bus.waitForEvent(
      (event) => (event.detail as { replay?: unknown }).replay !== undefined,
      10_000,
    );
  });
});
