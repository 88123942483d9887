/**
 * The local inspector (issue 11) over plain HTTP, against a local pipeline in this process: the live
 * stream, the timeline the CLI prints, who may act (token, origin, host), and that text from an IPN
 * or a refused request never comes back as markup.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEventsCommand, timelineSources } from '../../bin/commands/events.ts';
import { resolveTarget, type Target } from '../../bin/commands/targets.ts';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { paymentTimeline } from '../../functions/operations/payment-timeline.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { ipnJson, OTHER_SECRET, RawNumber, sign, TEST_SECRET } from '../helpers/ipn.ts';
import { recordingTerminal } from '../helpers/terminal.ts';

let pipeline: LocalPipeline;
let dataDir: string;
let inspector: URL;
let target: Target;
let store: DynamoDbEventStore;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-inspector-'));
  pipeline = await startLocalPipeline({
    port: 0,
    inspectorPort: 0,
    dataDir,
    secrets: [TEST_SECRET],
    visibilityTimeoutSeconds: 1,
    sweepIntervalMs: 0,
    print: () => {},
  });
  inspector = new URL(pipeline.endpoints.inspectorUrl ?? '');
  target = await resolveTarget({ local: true, 'data-dir': dataDir });
  store = new DynamoDbEventStore(target.dynamoDb, target.tableName);
});

afterAll(async () => {
  target?.destroy();
  await pipeline?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const now = () => Math.floor(Date.now() / 1000);

async function sendIpn(body: string, secret = TEST_SECRET) {
  const response = await fetch(pipeline.endpoints.ipnUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-okepay-signature': sign(body, { secret, timestamp: now() }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A request with exactly these headers (fetch would not let a test set Host, or would add its own). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: inspector.hostname,
        port: inspector.port,
        method,
        path,
        headers: { host: inspector.host, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pageToken(): Promise<string> {
  const page = await raw('GET', '/');
  const token = /<meta name="okepay-inspector-token" content="([0-9a-f]{64})">/.exec(page.text)?.[1];
  if (!token) throw new Error('no token in the page');
  return token;
}

const action = (name: string, body: unknown, headers: Record<string, string>) =>
  raw(
    'POST',
    `/api/actions/${name}`,
    { 'content-type': 'application/json', ...headers },
    JSON.stringify(body),
  );

interface SseEvent {
  event: string;
  data: string;
}

/** Reads the inspector's event stream; `next` waits for the first event (from now on) that passes `test`. */
async function openStream() {
  const controller = new AbortController();
  const response = await fetch(new URL('/api/stream', inspector), { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const received: SseEvent[] = [];
  let buffer = '';
  let waiting: (() => void) | undefined;
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data !== undefined) received.push({ event, data });
        end = buffer.indexOf('\n\n');
      }
      waiting?.();
    }
  })().catch(() => undefined);
  let seen = 0;
  return {
    received,
    async next(test: (event: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = received.findIndex((event, position) => position >= seen && test(event));
        if (index !== -1) {
          seen = index + 1;
          return received[index] as SseEvent;
        }
        if (Date.now() > deadline) throw new Error(`no matching server-sent event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}

const waitForBus = (paymentId: string, test: (detail: Record<string, unknown>) => boolean = () => true) =>
  pipeline.bus.waitForEvent((event) => {
    const detail = event.detail as Record<string, unknown>;
    return detail.paymentId === paymentId && test(detail);
  }, 10_000);

describe('the inspector page', () => {
  it('is served on 127.0.0.1 with a per-start token and a policy that runs only its own script', async () => {
    expect(inspector.hostname).toBe('127.0.0.1');
    const page = await raw('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.text).toMatch(/<script type="module" src="\/inspector.js"><\/script>/);
    expect(await pageToken()).toMatch(/^[0-9a-f]{64}$/);
    for (const asset of ['/inspector.js', '/inspector.css'])
      expect((await raw('GET', asset)).status).toBe(200);
    // The script puts data in the page as text only.
    expect((await raw('GET', '/inspector.js')).text).not.toMatch(
      /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write/,
    );
  });

  it('answers only to its own name: a request for another host that resolves here is refused', async () => {
    const rebound = await raw('GET', '/api/ipns/1', { host: `attacker.example:${inspector.port}` });
    expect(rebound.status).toBe(421);
    expect((await raw('GET', '/', { host: `localhost:${inspector.port}` })).status).toBe(200);
  });
});

describe('the live list', () => {
  it('streams a new row for each IPN as it is answered, newest first in the snapshot', async () => {
    const stream = await openStream();
    try {
      await stream.next((event) => event.event === 'snapshot');
      const body = ipnJson({ payment_id: 'pay_live_row', occurred_at: new Date().toISOString() });
      expect((await sendIpn(body)).status).toBe(200);
      const row = JSON.parse((await stream.next((event) => event.event === 'ipn')).data);
      expect(row).toMatchObject({
        status: 200,
        verdict: 'accepted',
        paymentId: 'pay_live_row',
        event: 'payment.succeeded',
        amount: '129.90',
      });
      const published = await stream.next(
        (event) => event.event === 'bus' && JSON.parse(event.data).paymentId === 'pay_live_row',
      );
      expect(JSON.parse(published.data)).toMatchObject({ event: 'payment.succeeded' });

      const refused = ipnJson({ payment_id: 'pay_live_401' });
      expect((await sendIpn(refused, OTHER_SECRET)).status).toBe(401);
      const unauthorized = JSON.parse((await stream.next((event) => event.event === 'ipn')).data);
      expect(unauthorized).toMatchObject({ status: 401, verdict: 'unauthorized' });
      // The doctor's explanation, from the pipeline's record of its 401s.
      expect(unauthorized.diagnosis).toMatchObject({ verdict: 'wrong_secret' });
      expect(unauthorized.diagnosis.fix).toEqual(expect.any(String));
    } finally {
      await stream.close();
    }
  });
});

describe('the timeline', () => {
  it('is the one `okepay events show --local` prints, from the same function and sources', async () => {
    const paymentId = 'pay_inspector_timeline';
    await sendIpn(ipnJson({ event: 'payment.pending', payment_id: paymentId }));
    await waitForBus(paymentId);
    await sendIpn(ipnJson({ event: 'payment.succeeded', payment_id: paymentId }));
    await waitForBus(paymentId, (detail) => detail.type === 'payment.succeeded');
    // Published is marked after PutEvents answers: wait until the store says so for both.
    await expect
      .poll(async () => (await store.paymentRecord(paymentId)).events.every((e) => e.status === 'published'))
      .toBe(true);

    const api = JSON.parse((await raw('GET', `/api/payments/${paymentId}`)).text);
    const direct = await paymentTimeline(paymentId, timelineSources(target, store, dataDir));
    expect(api.entries).toEqual(direct.entries);
    expect(api.unknowns).toEqual(direct.unknowns);
    expect(
      api.events.map(({ body, canonical, ...event }: Record<string, unknown>) => ({ ...event, body })),
    ).toEqual(direct.events.map((event) => ({ ...event, body: event.body.toString('utf8') })));

    const terminal = recordingTerminal();
    expect(
      await runEventsCommand(['show', paymentId, '--local', '--data-dir', dataDir, '--body'], terminal),
    ).toBe(0);
    expect(api.text).toBe(terminal.stdout());
    // What only this process knows: the rule that matched, and how its delivery ended.
    const succeeded = api.bus.find((entry: { event: string }) => entry.event === 'payment.succeeded');
    expect(succeeded.rules).toEqual(['succeeded-payments']);
    expect(succeeded.deliveries).toEqual([
      expect.objectContaining({ rule: 'succeeded-payments', target: { type: 'log' }, state: 'delivered' }),
    ]);
    expect(api.events[1].canonical.from).toBe('bus');
  });
});

describe('actions', () => {
  const paymentId = 'pay_inspector_held';
  const refund = (amount: string) =>
    ipnJson({ event: 'payment.refunded', payment_id: paymentId, amount: new RawNumber(amount) });
  const key = { paymentId, event: 'payment.refunded', revision: 2 };
  const heldNow = async () =>
    (await store.listState('held')).some((entry) => entry.key?.paymentId === paymentId);

  beforeAll(async () => {
    await sendIpn(refund('10.00'));
    await waitForBus(paymentId);
    expect((await sendIpn(refund('25.00'))).body).toMatchObject({ status: 'revision', held: true });
  });

  it('are refused without the token, with a wrong one, from another origin or site, and change nothing', async () => {
    const token = await pageToken();
    const origin = `http://${inspector.host}`;
    const refusals = [
      await action('release', key, {}),
      await action('release', key, { 'x-okepay-inspector-token': '0'.repeat(64) }),
      await action('release', key, { 'x-okepay-inspector-token': token, origin: 'http://attacker.example' }),
      await action('release', key, { 'x-okepay-inspector-token': token, 'sec-fetch-site': 'cross-site' }),
      await action('release', key, { 'x-okepay-inspector-token': token, origin: 'null' }),
    ];
    expect(refusals.map((refusal) => refusal.status)).toEqual([403, 403, 403, 403, 403]);
    expect(
      (await action('release', key, { 'x-okepay-inspector-token': token, host: 'attacker.example' })).status,
    ).toBe(421);
    // A GET never acts.
    expect((await raw('GET', '/api/actions/release')).status).toBe(404);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await heldNow()).toBe(true);
    expect(
      pipeline.bus.events.filter((event) => (event.detail as { revision?: number }).revision === 2),
    ).toEqual([]);

    const released = await action('release', key, { 'x-okepay-inspector-token': token, origin });
    expect(released.status).toBe(200);
    expect(JSON.parse(released.text)).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Released/),
    });
    await waitForBus(paymentId, (detail) => detail.revision === 2);
    expect(await heldNow()).toBe(false);
    // Released already: the same click again says so.
    expect((await action('release', key, { 'x-okepay-inspector-token': token, origin })).status).toBe(404);
  });

  it('resends a stored body signed again, replays it, and copies it as a curl command that verifies', async () => {
    const token = await pageToken();
    const headers = { 'x-okepay-inspector-token': token };
    const resent = JSON.parse((await action('resend', { ...key, revision: 1 }, headers)).text);
    expect(resent).toMatchObject({
      ok: true,
      message: expect.stringContaining('200 {"status":"duplicate"}'),
    });

    const replayed = JSON.parse(
      (await action('replay', { paymentId, event: 'payment.refunded' }, headers)).text,
    );
    expect(replayed).toMatchObject({ ok: true, published: 2, failed: 0 });
    await waitForBus(
      paymentId,
      (detail) => (detail.replay as { replayId?: string } | undefined)?.replayId === replayed.replayId,
    );

    const { curl } = JSON.parse(
      (await raw('GET', `/api/curl?paymentId=${paymentId}&event=payment.refunded&revision=1`)).text,
    );
    const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
    expect(JSON.parse(stdout)).toEqual({ status: 'duplicate' });
  });

  it('reprocess validates a rejected IPN again (still invalid: nothing stored); bad input is refused', async () => {
    const token = await pageToken();
    const headers = { 'x-okepay-inspector-token': token };
    const rejected = ipnJson({ payment_id: 'pay_inspector_rejected', currency: 'XXQ' });
    expect((await sendIpn(rejected)).status).toBe(400);
    const listed = JSON.parse((await raw('GET', '/api/events?state=rejected')).text);
    const sha = listed.rows[0].bodySha256 as string;
    const still = JSON.parse((await action('reprocess', { bodySha256: sha }, headers)).text);
    expect(still).toMatchObject({ ok: false, message: expect.stringMatching(/^Still invalid/) });
    expect((await action('reprocess', { bodySha256: 'not-a-hash' }, headers)).status).toBe(400);
    expect((await action('launch', {}, headers)).status).toBe(404);
  });
});

describe('text from IPNs and refused requests', () => {
  const markup = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';

  it('comes back escaped: never as markup in the page, the API or the stream', async () => {
    const stream = await openStream();
    try {
      await stream.next((event) => event.event === 'snapshot');
      const signed = ipnJson({ payment_id: 'pay_markup', order_ref: markup.slice(0, 60), note: markup });
      expect((await sendIpn(signed)).status).toBe(200);
      const refused = `{"payment_id":"pay_markup_401","note":${JSON.stringify(markup)}}</script><script>window.pwned=3</script>`;
      expect((await sendIpn(refused, OTHER_SECRET)).status).toBe(401);
      const rows = [
        JSON.parse((await stream.next((event) => event.event === 'ipn')).data),
        JSON.parse((await stream.next((event) => event.event === 'ipn')).data),
      ];
      await waitForBus('pay_markup');

      const texts = [
        (await raw('GET', '/')).text,
        (await raw('GET', `/api/ipns/${rows[0].id}`)).text,
        (await raw('GET', `/api/ipns/${rows[1].id}`)).text,
        (await raw('GET', '/api/payments/pay_markup')).text,
        (await raw('GET', '/api/signature-failures')).text,
        ...stream.received.map((event) => event.data),
      ];
      for (const text of texts) {
        expect(text).not.toContain('<img');
        expect(text).not.toContain('<script>window');
      }
      // Escaped, not altered: the exact bytes come back once parsed.
      const accepted = JSON.parse((await raw('GET', `/api/ipns/${rows[0].id}`)).text);
      expect(accepted.request.body).toBe(signed);
      expect(accepted.row.orderRef).toBe(markup.slice(0, 60));
      const failure = JSON.parse((await raw('GET', `/api/ipns/${rows[1].id}`)).text);
      expect(failure.request.body).toBe(refused);
      expect(JSON.parse((await raw('GET', '/api/signature-failures')).text)[0].body).toBe(refused);
    } finally {
      await stream.close();
    }
  });
});
