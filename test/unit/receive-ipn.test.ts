import { describe, expect, it } from 'vitest';
import { UnsupportedMediaTypeError } from '../../functions/ingest/errors.ts';
import { type IpnRequest, type ReceiveIpnDeps, receiveIpn } from '../../functions/ingest/receive-ipn.ts';
import { InvalidPayloadError, SignatureVerificationError } from '../../functions/shared/ipn/errors.ts';
import { QueueUnavailableError } from '../../functions/shared/queue/errors.ts';
import { StaticWebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { StoreUnavailableError } from '../../functions/shared/store/errors.ts';
import {
  InMemoryEventStore,
  InMemoryIpnQueue,
  RecordingLog,
  RecordingMetrics,
} from '../helpers/in-memory.ts';
import { ipnJson, NOW_MS, NOW_SECONDS, RawNumber, signedHeaders, TEST_SECRET } from '../helpers/ipn.ts';

function setup(overrides: Partial<ReceiveIpnDeps> = {}) {
  const store = new InMemoryEventStore();
  const queue = new InMemoryIpnQueue();
  const metrics = new RecordingMetrics();
  const log = new RecordingLog();
  const deps: ReceiveIpnDeps = {
    store,
    queue,
    secrets: new StaticWebhookSecrets([TEST_SECRET]),
    now: () => NOW_MS,
    log,
    metrics,
    settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 90 },
    ...overrides,
  };
  return { store, queue, metrics, log, deps };
}

function signed(body: string | Buffer, headers: Record<string, string> = {}): IpnRequest {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { headers: { ...signedHeaders(rawBody), ...headers }, rawBody };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('receiveIpn', () => {
  it('stores a valid IPN, enqueues a reference to it and answers accepted', async () => {
    const { store, queue, deps, metrics } = setup();
    const body = ipnJson({ payment_id: 'pay_1', event: 'payment.succeeded', order_ref: 'ORDER-9' });

    await expect(receiveIpn(signed(body), deps)).resolves.toEqual({ status: 'accepted' });

    const item = store.items.get('pay_1/payment.succeeded');
    expect(item).toMatchObject({
      paymentId: 'pay_1',
      event: 'payment.succeeded',
      orderRef: 'ORDER-9',
      status: 'received',
      signatureTimestamp: NOW_SECONDS,
      receivedAt: '2026-05-10T12:47:00.000Z',
      occurredAt: '2026-05-10T12:46:52Z',
      conflictCount: 0,
      expiresAt: NOW_SECONDS + 90 * 86_400,
    });
    expect(item?.body.toString()).toBe(body);
    expect(item?.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(queue.messages).toEqual([
      {
        v: 1,
        paymentId: 'pay_1',
        event: 'payment.succeeded',
        bodySha256: item?.bodySha256,
        receivedAt: item?.receivedAt,
      },
    ]);
    expect(metrics.count('IpnAccepted')).toBe(1);
  });

  it('keys the dedup on payment_id + event: another event of the same payment is a new item', async () => {
    const { store, queue, deps } = setup();
    await receiveIpn(signed(ipnJson({ event: 'payment.pending' })), deps);
    await receiveIpn(signed(ipnJson({ event: 'payment.succeeded' })), deps);
    expect(store.items.size).toBe(2);
    expect(queue.messages).toHaveLength(2);
  });

  it('verifies the raw bytes under the timestamp.body scheme', async () => {
    const { deps } = setup({
      settings: { signatureScheme: 'timestamp.body', toleranceSeconds: 300, retentionDays: 90 },
    });
    const body = Buffer.from(ipnJson());
    const request = { headers: signedHeaders(body, { scheme: 'timestamp.body' }), rawBody: body };
    await expect(receiveIpn(request, deps)).resolves.toEqual({ status: 'accepted' });
  });

  it('applies the configured retention to the TTL', async () => {
    const { store, deps } = setup({
      settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 7 },
    });
    await receiveIpn(signed(ipnJson()), deps);
    expect([...store.items.values()][0]?.expiresAt).toBe(NOW_SECONDS + 7 * 86_400);
  });

  describe('signature failures write nothing', () => {
    it.each([
      ['a missing header', {}, 'missing_signature'],
      ['a malformed header', { 'x-okepay-signature': 'v1=abc' }, 'malformed_signature'],
      [
        'a wrong signature',
        { 'x-okepay-signature': `t=${NOW_SECONDS},v1=${'0'.repeat(64)}` },
        'no_matching_signature',
      ],
      [
        'a stale timestamp',
        { 'x-okepay-signature': `t=${NOW_SECONDS - 301},v1=${'0'.repeat(64)}` },
        'timestamp_outside_tolerance',
      ],
    ])('%s → %s', async (_name, headers, reason) => {
      const { store, queue, deps, metrics } = setup();
      const error = await failure(receiveIpn({ headers, rawBody: Buffer.from(ipnJson()) }, deps));
      expect(error).toBeInstanceOf(SignatureVerificationError);
      expect((error as SignatureVerificationError).reason).toBe(reason);
      expect(store.items.size + store.rejected.size + queue.messages.length).toBe(0);
      expect(metrics.count('IpnSignatureFailure')).toBe(1);
    });

    it('a body signed with a secret no longer configured', async () => {
      const { store, deps } = setup();
      const body = ipnJson();
      const request = { headers: signedHeaders(body, { secret: 'retired' }), rawBody: Buffer.from(body) };
      await expect(receiveIpn(request, deps)).rejects.toThrow(SignatureVerificationError);
      expect(store.items.size).toBe(0);
    });
  });

  describe('a signed body that fails validation', () => {
    it('is recorded as rejected, not enqueued, and the issues are reported', async () => {
      const { store, queue, deps, metrics } = setup();
      const body = ipnJson({ amount: 'ten', payment_id: '' });
      const error = await failure(receiveIpn(signed(body), deps));
      expect(error).toBeInstanceOf(InvalidPayloadError);
      expect((error as InvalidPayloadError).issues.map((issue) => issue.path)).toEqual(
        expect.arrayContaining(['amount', 'payment_id']),
      );
      expect(queue.messages).toEqual([]);
      expect(store.items.size).toBe(0);
      const [rejected] = [...store.rejected.values()];
      expect(rejected).toMatchObject({ httpStatus: 400, signatureTimestamp: NOW_SECONDS });
      expect(rejected?.body.toString()).toBe(body);
      expect(metrics.count('IpnRejected')).toBe(1);
    });

    it('with a non-JSON content type is refused as 415 and recorded', async () => {
      const { store, queue, deps } = setup();
      const error = await failure(receiveIpn(signed(ipnJson(), { 'content-type': 'text/plain' }), deps));
      expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
      expect([...store.rejected.values()][0]?.httpStatus).toBe(415);
      expect(queue.messages).toEqual([]);
    });

    it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON'])(
      'accepts the content type %s',
      async (contentType) => {
        const { deps } = setup();
        await expect(receiveIpn(signed(ipnJson(), { 'content-type': contentType }), deps)).resolves.toEqual({
          status: 'accepted',
        });
      },
    );

    it('is answered 5xx when the rejection cannot be recorded, so okePay retries', async () => {
      const { store, deps } = setup();
      store.recordRejected = async () => {
        throw new StoreUnavailableError('PutItem', { cause: new Error('throttled') });
      };
      await expect(receiveIpn(signed(ipnJson({ amount: 'ten' })), deps)).rejects.toThrow(
        StoreUnavailableError,
      );
    });
  });

  describe('duplicates', () => {
    it('a redelivery of a published event answers duplicate and enqueues nothing', async () => {
      const { store, queue, deps, metrics } = setup();
      const body = ipnJson();
      await receiveIpn(signed(body), deps);
      await store.markPublished({ paymentId: 'pay_test_0001', event: 'payment.succeeded' }, 'x');
      queue.messages.length = 0;

      await expect(receiveIpn(signed(body), deps)).resolves.toEqual({ status: 'duplicate' });
      expect(queue.messages).toEqual([]);
      expect(metrics.count('IpnDuplicate')).toBe(1);
    });

    it('a redelivery of an event not yet published enqueues it again (the first send may have failed)', async () => {
      const { queue, deps } = setup();
      const body = ipnJson();
      await receiveIpn(signed(body), deps);
      await expect(receiveIpn(signed(body), deps)).resolves.toEqual({ status: 'accepted' });
      expect(queue.messages).toHaveLength(2);
      expect(queue.messages[1]).toEqual(queue.messages[0]);
    });

    it('the same JSON with other key order, whitespace and number spelling is a duplicate', async () => {
      const { store, queue, deps, metrics } = setup();
      const body = ipnJson({ amount: new RawNumber('129.90') });
      await receiveIpn(signed(body), deps);
      await store.markPublished({ paymentId: 'pay_test_0001', event: 'payment.succeeded' }, 'x');
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const reordered = `{ ${Object.keys(parsed)
        .reverse()
        .map((key) => `"${key}" : ${key === 'amount' ? '129.9' : JSON.stringify(parsed[key])}`)
        .join(' ,\n ')} }`;

      await expect(receiveIpn(signed(reordered), deps)).resolves.toEqual({ status: 'duplicate' });
      expect(queue.messages).toHaveLength(1);
      expect(store.items.size).toBe(1);
      expect(metrics.count('IpnRevision')).toBe(0);
    });
  });

  describe('revisions: same payment_id + event, different content', () => {
    const refund = (amount: string) =>
      ipnJson({ event: 'payment.refunded', amount: new RawNumber(amount), payment_id: 'pay_partial' });

    it('keeps a second partial refund whole as revision 2, held by default, and says so', async () => {
      const { store, queue, deps, metrics, log } = setup();
      await receiveIpn(signed(refund('10.00')), deps);

      const outcome = await receiveIpn(signed(refund('25.00')), deps);

      expect(outcome).toMatchObject({ status: 'revision', revision: 2, held: true, duplicate: false });
      expect(outcome.status === 'revision' && outcome.message).toMatch(/revision 2 .*held.*Do not resend/);
      const revisions = [...store.items.values()].filter((item) => item.revision === 2);
      expect(revisions).toHaveLength(1);
      expect(revisions[0]).toMatchObject({ status: 'held', paymentId: 'pay_partial' });
      expect(revisions[0]?.body.toString()).toBe(refund('25.00'));
      expect(store.items.get('pay_partial/payment.refunded')?.body.toString()).toBe(refund('10.00'));
      expect(queue.messages).toHaveLength(1);
      expect(metrics.count('IpnRevision')).toBe(1);
      expect(log.lines.some((line) => line.level === 'warn' && line.message.includes('new revision'))).toBe(
        true,
      );
    });

    it('under the publish policy, enqueues the revision at once under its own key', async () => {
      const { store, queue, deps } = setup();
      deps.settings = { ...deps.settings, revisionPolicy: 'publish' };
      await receiveIpn(signed(refund('10.00')), deps);
      const outcome = await receiveIpn(signed(refund('25.00')), deps);
      expect(outcome).toMatchObject({ status: 'revision', revision: 2, held: false });
      expect(queue.messages).toHaveLength(2);
      const revision = [...store.items.values()].find((item) => item.revision === 2);
      expect(queue.messages[1]).toMatchObject({
        paymentId: 'pay_partial',
        revisionHash: revision?.revisionHash,
      });
      expect(revision?.status).toBe('received');
    });

    it('a redelivery of a revision is a duplicate of it: no new item, no new number', async () => {
      const { store, deps, metrics } = setup();
      await receiveIpn(signed(refund('10.00')), deps);
      await receiveIpn(signed(refund('25.00')), deps);
      const again = await receiveIpn(signed(refund('25.0')), deps);
      expect(again).toMatchObject({ status: 'revision', revision: 2, duplicate: true });
      const third = await receiveIpn(signed(refund('5.00')), deps);
      expect(third).toMatchObject({ status: 'revision', revision: 3, duplicate: false });
      expect(store.items.size).toBe(3);
      expect(metrics.count('IpnRevision')).toBe(2);
    });

    it('a revision of an unpublished first copy does not re-enqueue the first copy', async () => {
      const { queue, deps } = setup();
      await receiveIpn(signed(refund('10.00')), deps);
      await receiveIpn(signed(refund('25.00')), deps);
      expect(queue.messages).toHaveLength(1);
    });
  });

  describe('a stored copy that cannot be read', () => {
    it('keeps a later delivery whole as a held revision instead of failing every retry', async () => {
      const { store, deps, log } = setup();
      await receiveIpn(signed(ipnJson()), deps);
      store.unreadable.add('pay_test_0001/payment.succeeded');

      const outcome = await receiveIpn(signed(ipnJson()), deps);

      expect(outcome).toMatchObject({ status: 'revision', revision: 2, held: true, duplicate: false });
      expect([...store.items.values()].filter((item) => item.revision === 2)).toHaveLength(1);
      expect(
        log.lines.some((line) => line.level === 'error' && line.message.includes('cannot be read')),
      ).toBe(true);
    });
  });

  describe('dedup outlives the stored body', () => {
    it('a captured request sent again after its body expired is a duplicate, and nothing is stored', async () => {
      let now = NOW_MS;
      const { store, queue, deps, metrics } = setup({ now: () => now });
      deps.settings = { ...deps.settings, retentionDays: 90, dedupRetentionDays: 1095 };
      const body = ipnJson();
      await receiveIpn(signed(body), deps);
      // 91 days later the TTL has deleted the item; the marker stays.
      now = NOW_MS + 91 * 86_400_000;
      store.items.clear();
      queue.messages.length = 0;
      const request = {
        headers: signedHeaders(Buffer.from(body), { timestamp: now / 1000 }),
        rawBody: Buffer.from(body),
      };

      await expect(receiveIpn(request, deps)).resolves.toMatchObject({ status: 'duplicate', expired: true });
      expect(store.items.size).toBe(0);
      expect(queue.messages).toEqual([]);
      expect(metrics.count('IpnExpiredDuplicate')).toBe(1);
      expect([...store.markers.values()][0]?.expiresAt).toBe(NOW_SECONDS + 1095 * 86_400);
    });
  });

  describe('infrastructure failures throw, so the handler answers 5xx', () => {
    it('the store failing: nothing is enqueued', async () => {
      const { store, queue, deps } = setup();
      store.putIfAbsent = async () => {
        throw new StoreUnavailableError('PutItem', { cause: new Error('ProvisionedThroughputExceeded') });
      };
      await expect(receiveIpn(signed(ipnJson()), deps)).rejects.toThrow(StoreUnavailableError);
      expect(queue.messages).toEqual([]);
    });

    it('the queue failing after the put: the retry finds the stored item and enqueues it', async () => {
      const { store, queue, deps } = setup();
      const enqueue = queue.enqueue.bind(queue);
      queue.enqueue = async () => {
        throw new QueueUnavailableError('SendMessage', { cause: new Error('503') });
      };
      const body = ipnJson();
      await expect(receiveIpn(signed(body), deps)).rejects.toThrow(QueueUnavailableError);
      expect(store.items.get('pay_test_0001/payment.succeeded')?.status).toBe('received');
      expect(queue.messages).toEqual([]);

      queue.enqueue = enqueue;
      await expect(receiveIpn(signed(body), deps)).resolves.toEqual({ status: 'accepted' });
      expect(queue.messages).toHaveLength(1);
    });

    it('the secrets failing: nothing is verified nor written', async () => {
      const { store, deps } = setup({
        secrets: {
          current: async () => {
            throw new Error('AccessDenied');
          },
        },
      });
      await expect(receiveIpn(signed(ipnJson()), deps)).rejects.toThrow('AccessDenied');
      expect(store.items.size).toBe(0);
    });
  });
});
