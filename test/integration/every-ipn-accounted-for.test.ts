/**
 * Issue "Every IPN accounted for", end to end on the local pipeline (the same handlers as in Lambda,
 * dynalite, local-aws-sqs, the local bus) and the operator's CLI against it: partial refunds kept as
 * revisions and released, rejected IPNs reprocessed after a fix, stuck events swept, captured
 * requests refused after their body expired.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRejectedCommand } from '../../bin/commands/rejected.ts';
import { runRevisionsCommand } from '../../bin/commands/revisions.ts';
import { runStuckCommand } from '../../bin/commands/stuck.ts';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { eventIdFor } from '../../functions/shared/canonical/event-id.ts';
import { contentSha256 } from '../../functions/shared/ipn/content-hash.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { ipnJson, postSignedIpn, RawNumber, TEST_SECRET } from '../helpers/ipn.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

let pipeline: LocalPipeline;
let dataDir: string;
let dynamoDb: DynamoDBClient;
let store: DynamoDbEventStore;
const printed: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-accounted-'));
  pipeline = await startLocalPipeline({
    port: 0,
    dataDir,
    secrets: [TEST_SECRET],
    visibilityTimeoutSeconds: 1,
    sweepIntervalMs: 300,
    sweepGraceMs: 1_000,
    print: (line) => printed.push(line),
  });
  dynamoDb = new DynamoDBClient({
    region: pipeline.endpoints.region,
    endpoint: pipeline.endpoints.dynamodb,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  store = new DynamoDbEventStore(dynamoDb, pipeline.endpoints.tableName);
});

afterAll(async () => {
  dynamoDb.destroy();
  await pipeline.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(body: string) {
  const response = await postSignedIpn(pipeline.endpoints.ipnUrl, body);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const local = ['--local', '--data-dir'];
const cli = async (
  command: (argv: string[], terminal: ReturnType<typeof recordingTerminal>) => Promise<number>,
  args: string[],
) => {
  const terminal = recordingTerminal();
  const code = await command([...args, ...local, dataDir], terminal);
  return { code, out: terminal.stdout(), err: terminal.stderr() };
};

const busEvents = (paymentId: string) =>
  pipeline.bus.events.filter((event) => (event.detail as { paymentId?: string }).paymentId === paymentId);
const waitFor = (paymentId: string, test: (detail: Record<string, unknown>) => boolean = () => true) =>
  pipeline.bus.waitForEvent(
    (event) =>
      (event.detail as { paymentId?: string }).paymentId === paymentId &&
      test(event.detail as Record<string, unknown>),
    10_000,
  );
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

describe('two partial refunds of one payment', () => {
  const refund = (amount: string) =>
    ipnJson({
      event: 'payment.refunded',
      payment_id: 'pay_two_refunds',
      amount: new RawNumber(amount),
      occurred_at: new Date().toISOString(),
    });

  it('keeps the second as a held revision, lists it, and publishes it once released with its own eventId', async () => {
    const first = refund('10.00');
    const second = refund('25.00');
    expect(await post(first)).toEqual({ status: 200, body: { status: 'accepted' } });
    await waitFor('pay_two_refunds');

    const answer = await post(second);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'revision', revision: 2, held: true, duplicate: false });
    // A redelivery of the second is the same revision, not a third.
    expect((await post(second)).body).toMatchObject({ status: 'revision', revision: 2, duplicate: true });
    await settle();
    expect(busEvents('pay_two_refunds')).toHaveLength(1);

    const listed = await cli(runRevisionsCommand, ['list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/1 held revision in the local pipeline/);
    expect(listed.out).toMatch(/pay_two_refunds\s+payment\.refunded\s+2/);

    const dryRun = await cli(runRevisionsCommand, ['release', 'pay_two_refunds', '--dry-run']);
    expect(dryRun.out).toMatch(
      /^Dry run, nothing changed. Release pay_two_refunds payment.refunded revision 2/,
    );
    const unconfirmed = await cli(runRevisionsCommand, ['release', 'pay_two_refunds']).catch(
      (error: Error) => ({
        code: 2,
        out: '',
        err: error.message,
      }),
    );
    expect(unconfirmed.err).toMatch(/pass --yes to confirm/);
    await settle();
    expect(busEvents('pay_two_refunds')).toHaveLength(1);

    const released = await cli(runRevisionsCommand, ['release', 'pay_two_refunds', '--yes']);
    expect(released).toMatchObject({ code: 0, out: expect.stringMatching(/^Released pay_two_refunds/) });
    const revision = await waitFor('pay_two_refunds', (detail) => detail.revision === 2);
    const detail = revision.detail as { eventId: string; amount: { decimal: string }; revision: number };
    expect(detail.amount.decimal).toBe('25.00');
    expect(detail.eventId).toBe(eventIdFor('pay_two_refunds', 'payment.refunded', contentSha256(second)));
    expect(detail.eventId).not.toBe(eventIdFor('pay_two_refunds', 'payment.refunded'));
    await settle();
    expect(busEvents('pay_two_refunds')).toHaveLength(2);
    expect((await cli(runRevisionsCommand, ['list'])).out).toMatch(/No held revisions/);
  });

  it('discards a third revision: listed until then, never published', async () => {
    expect((await post(refund('5.00'))).body).toMatchObject({ status: 'revision', revision: 3, held: true });
    const discarded = await cli(runRevisionsCommand, [
      'discard',
      'pay_two_refunds',
      '--revision',
      '3',
      '--yes',
    ]);
    expect(discarded).toMatchObject({ code: 0, out: expect.stringMatching(/^Discarded/) });
    await settle();
    expect(busEvents('pay_two_refunds')).toHaveLength(2);
    const again = await cli(runRevisionsCommand, ['release', 'pay_two_refunds', '--revision', '3', '--yes']);
    expect(again).toMatchObject({ code: 1, err: expect.stringMatching(/No held revision matches/) });
  });
});

describe('signed IPNs the previous version refused', () => {
  it('delivers JPY 5400.00 as "5400" and XCG, and keeps every digit of a big number in detail.raw', async () => {
    const jpy = ipnJson({ payment_id: 'pay_jpy', amount: new RawNumber('5400.00'), currency: 'JPY' });
    const xcg = ipnJson({ payment_id: 'pay_xcg', amount: new RawNumber('12.50'), currency: 'XCG' });
    const big = ipnJson({ payment_id: 'pay_big', transaction_id: new RawNumber('9994456683762355345868') });
    for (const body of [jpy, xcg, big]) expect((await post(body)).status).toBe(200);

    const delivered = await waitFor('pay_jpy');
    expect((delivered.detail as { amount: { decimal: string } }).amount.decimal).toBe('5400');
    await waitFor('pay_xcg');
    await waitFor('pay_big');
    const busLog = readFileSync(join(dataDir, 'bus.jsonl'), 'utf8');
    const line = busLog.split('\n').find((text) => text.includes('"pay_big"'));
    expect(line).toContain('"transaction_id":9994456683762355345868');
  });

  it('reprocesses a rejected record left by an older version, after listing it with its reason', async () => {
    // What the version before wrote for a JPY amount with two zero decimals.
    const body = Buffer.from(
      ipnJson({ payment_id: 'pay_old_reject', amount: new RawNumber('700.00'), currency: 'JPY' }),
    );
    const sha = createHash('sha256').update(body).digest('hex');
    await store.recordRejected({
      body,
      bodySha256: sha,
      signatureTimestamp: Math.floor(Date.now() / 1000) - 60,
      receivedAt: new Date(Date.now() - 60_000).toISOString(),
      httpStatus: 400,
      issues: [{ path: 'amount', message: 'JPY allows at most 0 decimal digits' }],
      expiresAt: Math.floor(Date.now() / 1000) + 90 * 86_400,
    });

    const listed = await cli(runRejectedCommand, ['list']);
    expect(listed.out).toContain(sha.slice(0, 12));
    expect(listed.out).toContain('amount: JPY allows at most 0 decimal digits');
    const dry = await cli(runRejectedCommand, ['reprocess', sha.slice(0, 10), '--dry-run']);
    expect(dry.out).toMatch(/valid now: pay_old_reject payment.succeeded/);
    expect(dry.out).toMatch(/Dry run, nothing changed: 1 of 1 would be stored and published/);

    const done = await cli(runRejectedCommand, ['reprocess', sha.slice(0, 10), '--yes']);
    expect(done).toMatchObject({ code: 0, out: expect.stringMatching(/Reprocessed 1 rejected IPN/) });
    const delivered = await waitFor('pay_old_reject');
    expect((delivered.detail as { amount: { decimal: string } }).amount.decimal).toBe('700');
    expect((await cli(runRejectedCommand, ['list'])).out).toMatch(/No rejected IPNs waiting/);
  });

  it('keeps a signed IPN that is still invalid, lists it and refuses to reprocess it', async () => {
    const body = ipnJson({ payment_id: 'pay_bad_amount', amount: new RawNumber('5400.50'), currency: 'JPY' });
    const answer = await post(body);
    expect(answer.status).toBe(400);
    const listed = await cli(runRejectedCommand, ['list']);
    expect(listed.out).toMatch(/amount: .*JPY/);
    const sha = createHash('sha256').update(body).digest('hex');
    const attempt = await cli(runRejectedCommand, ['reprocess', sha, '--yes']);
    expect(attempt.code).toBe(1);
    expect(attempt.out).toMatch(/still invalid: amount/);
  });
});

describe('stuck events', () => {
  it('finds an event stored but never enqueued (its message was purged) and publishes it', async () => {
    const body = ipnJson({ payment_id: 'pay_lost_message' });
    const receivedAt = new Date(Date.now() - 5_000).toISOString();
    await store.putIfAbsent({
      paymentId: 'pay_lost_message',
      event: 'payment.succeeded',
      orderRef: 'ORDER-1',
      body: Buffer.from(body),
      bodySha256: createHash('sha256').update(body).digest('hex'),
      signatureTimestamp: Math.floor(Date.now() / 1000),
      receivedAt,
      occurredAt: '2026-05-10T12:46:52Z',
      status: 'received',
      revision: 1,
      conflictCount: 0,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    });
    const listed = await cli(runStuckCommand, ['list', '--grace', '0']);
    expect(listed.out).toMatch(/pay_lost_message/);

    // No message was ever sent: only the pipeline's periodic sweeper can bring it to the bus.
    const delivered = await waitFor('pay_lost_message');
    expect((delivered.detail as { eventId: string }).eventId).toBe(
      eventIdFor('pay_lost_message', 'payment.succeeded'),
    );
    expect(printed.some((line) => /sweeper: enqueued \d+ stuck event/.test(line))).toBe(true);
    await settle();
    expect(busEvents('pay_lost_message')).toHaveLength(1);
    expect((await cli(runStuckCommand, ['list', '--grace', '0'])).out).not.toMatch(/pay_lost_message/);
  });
});

describe('dedup outlives the stored body', () => {
  it('answers a captured request sent again after its body expired as a duplicate, and publishes nothing', async () => {
    const body = ipnJson({ payment_id: 'pay_captured' });
    // The marker as ingest left it 100 days ago; the body's item is gone (TTL).
    await dynamoDb.send(
      new PutItemCommand({
        TableName: pipeline.endpoints.tableName,
        Item: {
          pk: { S: 'PAYMENT#pay_captured' },
          sk: { S: `SEEN#payment.succeeded#${contentSha256(body)}` },
          bodyExpiresAt: { N: String(Math.floor(Date.now() / 1000) - 10 * 86_400) },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 900 * 86_400) },
        },
      }),
    );
    const answer = await post(body);
    expect(answer).toMatchObject({ status: 200, body: { status: 'duplicate', expired: true } });
    await settle();
    expect(busEvents('pay_captured')).toEqual([]);
    expect(await store.get({ paymentId: 'pay_captured', event: 'payment.succeeded' })).toBeUndefined();
  });
});
