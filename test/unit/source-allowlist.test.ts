import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createIngestHttpHandler } from '../../functions/ingest/http-handler.ts';
import { InvalidCidrError, SourceAllowlist } from '../../functions/ingest/source-allowlist.ts';
import { METRICS } from '../../functions/shared/observability.ts';
import type { WebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import {
  InMemoryEventStore,
  InMemoryIpnQueue,
  RecordingLog,
  RecordingMetrics,
} from '../helpers/in-memory.ts';
import { ipnJson, NOW_MS, NOW_SECONDS, sign, TEST_SECRET } from '../helpers/ipn.ts';

const allowlist = new SourceAllowlist(['203.0.113.0/24', '198.51.100.7/32', '2001:db8:1::/48']);

describe('SourceAllowlist', () => {
  it.each([
    ['an IPv4 address inside a /24', '203.0.113.200'],
    ['the one address of a /32', '198.51.100.7'],
    ['an IPv6 address inside a /48', '2001:db8:1:ffff::1'],
    ['an IPv6 address written in capitals', '2001:DB8:1::A'],
    ['an IPv4-mapped IPv6 address of an allowed IPv4', '::ffff:203.0.113.9'],
    ['an IPv4-mapped IPv6 address in hex form', '::ffff:cb00:7109'],
  ])('allows %s', (_, address) => {
    expect(allowlist.allows(address)).toBe(true);
  });

  it.each([
    ['an IPv4 address just outside the /24', '203.0.114.1'],
    ['the neighbour of a /32', '198.51.100.8'],
    ['an IPv6 address outside the /48', '2001:db8:2::1'],
    ['an IPv4-mapped IPv6 address of a refused IPv4', '::ffff:192.0.2.1'],
    ['a malformed address', 'not-an-ip'],
    ['an address with a port', '203.0.113.9:443'],
    ['an empty address', ''],
    ['no address at all', undefined],
  ])('refuses %s', (_, address) => {
    expect(allowlist.allows(address)).toBe(false);
  });

  it('reads the comma-separated form of OKEPAY_ALLOWED_SOURCE_CIDRS, spaces and all', () => {
    const parsed = SourceAllowlist.parse(' 203.0.113.0/24 , 2001:db8::/32,');
    expect(parsed.cidrs).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    expect(parsed.allows('2001:db8::9')).toBe(true);
  });

  it.each([
    '203.0.113.0',
    '203.0.113.0/33',
    '2001:db8::/129',
    'example.com/24',
    '203.0.113.0/24/1',
    '10.0.0.0/x',
  ])('rejects the CIDR %j, naming it', (cidr) => {
    expect(() => new SourceAllowlist([cidr])).toThrow(InvalidCidrError);
    expect(() => new SourceAllowlist([cidr])).toThrow(`"${cidr}" is not an IPv4 or IPv6 CIDR`);
  });
});

describe('the ingest handler with an allowlist', () => {
  function harness() {
    const store = new InMemoryEventStore();
    const queue = new InMemoryIpnQueue();
    const metrics = new RecordingMetrics();
    const log = new RecordingLog();
    let secretReads = 0;
    const secrets: WebhookSecrets = {
      current: async () => {
        secretReads += 1;
        return [TEST_SECRET];
      },
    };
    const handle = createIngestHttpHandler(
      {
        store,
        queue,
        secrets,
        now: () => NOW_MS,
        log,
        metrics,
        settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 90 },
      },
      { allowedSources: allowlist },
    );
    return { store, queue, metrics, log, handle, secretReads: () => secretReads };
  }

  function signedEvent(sourceIp: string | undefined): APIGatewayProxyEventV2 {
    const body = ipnJson();
    const event = httpApiEvent(body, {
      'content-type': 'application/json',
      'x-okepay-signature': sign(body, { timestamp: NOW_SECONDS }),
    });
    return {
      ...event,
      requestContext: {
        ...event.requestContext,
        http: { ...event.requestContext.http, sourceIp: sourceIp as string },
      },
    };
  }

  it('accepts a signed IPN from an allowed address', async () => {
    const { handle, queue, metrics } = harness();
    const response = await handle(signedEvent('203.0.113.10'));
    expect(response.statusCode).toBe(200);
    expect(queue.messages).toHaveLength(1);
    expect(metrics.count(METRICS.ipnSourceRefused)).toBe(0);
  });

  it.each([
    ['an address outside the list', '192.0.2.1'],
    ['an IPv6 address outside the list', '2001:db8:9::1'],
    ['an IPv4-mapped address outside the list', '::ffff:192.0.2.1'],
    ['a malformed source address', 'garbage'],
    ['no source address', undefined],
  ])('answers 403 to %s before reading a secret or storing anything', async (_, sourceIp) => {
    const { handle, store, queue, metrics, secretReads, log } = harness();
    const response = await handle(signedEvent(sourceIp));
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body ?? '{}')).toMatchObject({
      error: 'forbidden_source',
      message: expect.stringContaining('are not accepted by this endpoint'),
    });
    expect(secretReads()).toBe(0);
    expect(store.items.size).toBe(0);
    expect(queue.messages).toHaveLength(0);
    expect(metrics.count(METRICS.ipnSourceRefused)).toBe(1);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn' }));
  });

  it('refuses before looking at the body: an undecodable body from a refused address is still 403', async () => {
    const { handle } = harness();
    const event = { ...signedEvent('192.0.2.1'), body: '%%%', isBase64Encoded: true };
    expect((await handle(event)).statusCode).toBe(403);
  });
});
