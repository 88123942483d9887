/**
 * The local EventBridge endpoint, driven by the real EventBridgeClient over HTTP on 127.0.0.1.
 */
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  type EventBridgeClientConfig,
  InternalException,
  InvalidEventPatternException,
  ListEventBusesCommand,
  ListRulesCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type EventBusServer,
  type EventRuleDefinition,
  InvalidRuleError,
  startEventBusServer,
} from '../../functions/local/event-bus-server.ts';
import { seededRandom } from '../helpers/faults.ts';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const PIPELINE_BUS = 'okepay-events';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const RULES: EventRuleDefinition[] = [
  {
    name: 'succeeded-payments',
    eventPattern: { source: ['okepay'], 'detail-type': ['payment.succeeded'] },
    targets: [{ type: 'log' }],
  },
  {
    name: 'large-eur-payments',
    eventPattern: {
      source: ['okepay'],
      detail: { currency: ['EUR'], amount: { number: [{ numeric: ['>', 1000] }] } },
    },
  },
  {
    name: 'pipeline-refunds',
    eventBusName: PIPELINE_BUS,
    eventPattern: { 'detail-type': ['payment.refunded'] },
  },
];

function entry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return {
    Source: 'okepay',
    DetailType: 'payment.succeeded',
    Detail: JSON.stringify({ paymentId: 'pay_1', currency: 'EUR', amount: { number: 10 } }),
    ...overrides,
  };
}

let server: EventBusServer;
let client: EventBridgeClient;
/** No retries, so an injected failure reaches the test as the SDK raises it. */
let noRetryClient: EventBridgeClient;

function clientFor(url: string, config: EventBridgeClientConfig = {}): EventBridgeClient {
  return new EventBridgeClient({ region: 'us-east-1', credentials: CREDENTIALS, endpoint: url, ...config });
}

beforeAll(async () => {
  server = await startEventBusServer({ buses: [PIPELINE_BUS], rules: RULES });
  client = clientFor(server.url);
  noRetryClient = clientFor(server.url, { maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  noRetryClient.destroy();
  await server.close();
});

beforeEach(() => {
  server.clear();
  server.setFaults({});
});

describe('PutEvents', () => {
  it('accepts entries and answers one EventId per entry, in request order', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ DetailType: 'payment.pending' }),
          entry({ DetailType: 'payment.succeeded' }),
          entry({ DetailType: 'payment.failed' }),
        ],
      }),
    );

    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries).toHaveLength(3);
    const ids = (result.Entries ?? []).map((e) => e.EventId);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(3);
    expect(server.events.map((e) => [e.id, e['detail-type']])).toEqual([
      [ids[0], 'payment.pending'],
      [ids[1], 'payment.succeeded'],
      [ids[2], 'payment.failed'],
    ]);
  });

  it('builds the envelope targets receive: time from the entry without millis, detail parsed', async () => {
    const detail = { paymentId: 'pay_7', amount: { number: 129.9, text: '129.90' }, tags: ['a'] };
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({
            Time: new Date('2026-05-10T12:46:52.789Z'),
            Resources: ['arn:aws:okepay:::payment/pay_7'],
            Detail: JSON.stringify(detail),
          }),
        ],
      }),
    );

    expect(server.events).toEqual([
      {
        version: '0',
        id: result.Entries?.[0]?.EventId,
        'detail-type': 'payment.succeeded',
        source: 'okepay',
        account: '000000000000',
        time: '2026-05-10T12:46:52Z',
        region: 'us-east-1',
        resources: ['arn:aws:okepay:::payment/pay_7'],
        detail,
      },
    ]);
  });

  it('stamps an entry without Time with the server clock', async () => {
    const stamped = await startEventBusServer({ clock: () => new Date('2030-01-02T03:04:05.678Z') });
    const stampedClient = clientFor(stamped.url);
    try {
      await stampedClient.send(new PutEventsCommand({ Entries: [entry()] }));

      expect(stamped.events[0]?.time).toBe('2030-01-02T03:04:05Z');
      expect(stamped.events[0]?.resources).toEqual([]);
    } finally {
      stampedClient.destroy();
      await stamped.close();
    }
  });

  it('fails only the entry addressed to a bus that does not exist', async () => {
    const result = await client.send(
      new PutEventsCommand({ Entries: [entry(), entry({ EventBusName: 'no-such-bus' }), entry()] }),
    );

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[1]).toEqual({
      ErrorCode: 'ResourceNotFoundException',
      ErrorMessage: 'Event bus no-such-bus does not exist.',
    });
    expect(result.Entries?.[0]?.EventId).toMatch(UUID);
    expect(result.Entries?.[2]?.EventId).toMatch(UUID);
    expect(server.events).toHaveLength(2);
  });

  it.each([
    ['Detail that is not JSON', { Detail: '{"paymentId": ' }, 'MalformedDetail', 'Detail is malformed.'],
    ['Detail that is a JSON array', { Detail: '[1, 2]' }, 'MalformedDetail', 'Detail is malformed.'],
    ['Detail that is a JSON string', { Detail: '"text"' }, 'MalformedDetail', 'Detail is malformed.'],
    [
      'a missing Detail',
      { Detail: undefined },
      'InvalidArgument',
      'Parameter Detail is not valid. Reason: Detail is a required argument.',
    ],
    [
      'a missing Source',
      { Source: undefined },
      'InvalidArgument',
      'Parameter Source is not valid. Reason: Source is a required argument.',
    ],
    [
      'an empty DetailType',
      { DetailType: '' },
      'InvalidArgument',
      'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
    ],
  ])('reports %s as a per-entry %s and records nothing for it', async (_case, overrides, code, message) => {
    const result = await client.send(new PutEventsCommand({ Entries: [entry(overrides), entry()] }));

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[0]).toEqual({ ErrorCode: code, ErrorMessage: message });
    expect(server.events).toHaveLength(1);
  });

  it('rejects 11 entries as a whole with ValidationException', async () => {
    const entries = Array.from({ length: 11 }, () => entry());

    const error = await noRetryClient
      .send(new PutEventsCommand({ Entries: entries }))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('Member must have length less than or equal to 10'),
    });
    expect(server.events).toHaveLength(0);
  });

  it('rejects a request whose entries together exceed 256 KB, though each one fits', async () => {
    const half = JSON.stringify({ blob: 'x'.repeat(130 * 1024) });

    const error = await noRetryClient
      .send(new PutEventsCommand({ Entries: [entry({ Detail: half }), entry({ Detail: half })] }))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: 'Total size of the entries in the request is over the limit.',
    });
    expect(server.events).toHaveLength(0);
  });

  it('counts size as AWS documents: 14 bytes for Time, UTF-8 bytes of the other fields, 256 KiB allowed', async () => {
    // 14 (Time) + 6 (Source) + 17 (DetailType) + 4 (one resource) + Detail, where "€" is 3 UTF-8 bytes.
    const fixed = 14 + 'okepay'.length + 'payment.succeeded'.length + 'arn1'.length;
    const detailOf = (bytes: number) => {
      const skeleton = '{"s":""}'.length;
      const euros = Math.floor((bytes - skeleton) / 3);
      return JSON.stringify({ s: `${'€'.repeat(euros)}${'x'.repeat(bytes - skeleton - euros * 3)}` });
    };
    const sized = (total: number) =>
      entry({
        Time: new Date(),
        Resources: ['arn1'],
        Detail: detailOf(total - fixed),
        EventBusName: PIPELINE_BUS,
      });

    const atLimit = await noRetryClient.send(new PutEventsCommand({ Entries: [sized(256 * 1024)] }));
    const overLimit = await noRetryClient
      .send(new PutEventsCommand({ Entries: [sized(256 * 1024 + 1)] }))
      .catch((e: unknown) => e);

    expect(atLimit.FailedEntryCount).toBe(0);
    expect(overLimit).toMatchObject({ name: 'ValidationException' });
  });

  it('accepts the bus ARN as EventBusName', async () => {
    const arn = `arn:aws:events:us-east-1:000000000000:event-bus/${PIPELINE_BUS}`;

    await client.send(
      new PutEventsCommand({ Entries: [entry({ EventBusName: arn, DetailType: 'payment.refunded' })] }),
    );

    expect(server.matches.map((m) => [m.rule, m.eventBusName])).toEqual([['pipeline-refunds', PIPELINE_BUS]]);
  });
});

describe('rule matching', () => {
  it.each([
    [
      'source and detail-type',
      entry({ Detail: '{"currency":"USD","amount":{"number":5}}' }),
      ['succeeded-payments'],
    ],
    [
      'a numeric detail field',
      entry({ DetailType: 'payment.chargeback', Detail: '{"currency":"EUR","amount":{"number":1000.01}}' }),
      ['large-eur-payments'],
    ],
    [
      'two rules at once',
      entry({ Detail: '{"currency":"EUR","amount":{"number":2500}}' }),
      ['succeeded-payments', 'large-eur-payments'],
    ],
    [
      'no rule',
      entry({ DetailType: 'payment.pending', Detail: '{"currency":"EUR","amount":{"number":1000}}' }),
      [],
    ],
  ])('matches an event against every rule of its bus: %s', async (_case, input, rules) => {
    const result = await client.send(new PutEventsCommand({ Entries: [input] }));

    expect(server.matches.map((m) => m.rule)).toEqual(rules);
    for (const match of server.matches) {
      expect(match.event.id).toBe(result.Entries?.[0]?.EventId);
      expect(match.eventBusName).toBe('default');
    }
  });

  it("only matches rules of the event's own bus", async () => {
    await client.send(new PutEventsCommand({ Entries: [entry({ EventBusName: PIPELINE_BUS })] }));

    expect(server.events).toHaveLength(1);
    expect(server.matches).toEqual([]);
  });

  it("hands the matched rule's targets to the match", async () => {
    await client.send(new PutEventsCommand({ Entries: [entry()] }));

    expect(server.matches[0]?.targets).toEqual([{ type: 'log' }]);
  });

  it('matches on the numbers as sent: a number a double cannot hold is not rounded first', async () => {
    server.addRule({
      name: 'exact-id',
      eventPattern: { detail: { transactionId: ['9994456683762355345868'] } },
    });
    server.addRule({
      name: 'exact-big',
      eventPattern: { detail: { big: [9007199254740992] } },
    });

    await client.send(
      new PutEventsCommand({
        Entries: [entry({ Detail: '{"transactionId":"9994456683762355345868","big":9007199254740993}' })],
      }),
    );

    // 9007199254740993 reads as ...992 through a double; EventBridge compares it as sent (beyond its
    // documented numeric range only the exact text matches), so the rule for ...992 must not match.
    expect(server.matches.map((m) => m.rule)).toEqual(['succeeded-payments', 'exact-id']);
  });

  it('matches rules added while running', async () => {
    server.addRule({ name: 'pending-only', eventPattern: { 'detail-type': ['payment.pending'] } });

    await client.send(new PutEventsCommand({ Entries: [entry({ DetailType: 'payment.pending' })] }));

    expect(server.matches.map((m) => m.rule)).toEqual(['pending-only']);
  });

  it('rejects a rule with an invalid pattern, naming the rule, at start and when added', async () => {
    const bad: EventRuleDefinition = { name: 'broken-rule', eventPattern: { source: 'okepay' } };

    const atStart = await startEventBusServer({ rules: [bad] }).catch((e: unknown) => e);
    const added = (() => {
      try {
        server.addRule(bad);
      } catch (error) {
        return error;
      }
    })();

    for (const error of [atStart, added]) {
      expect(error).toBeInstanceOf(InvalidRuleError);
      expect(error).toMatchObject({
        ruleName: 'broken-rule',
        message: expect.stringContaining('"broken-rule"'),
      });
      expect((error as InvalidRuleError).problems[0]).toContain('"source"');
    }
  });

  it('rejects a rule for a bus that does not exist, naming both', () => {
    expect(() =>
      server.addRule({ name: 'lost', eventBusName: 'nowhere', eventPattern: { source: ['okepay'] } }),
    ).toThrow(/Rule "lost" is invalid: event bus "nowhere" does not exist/);
  });
});

describe('listeners', () => {
  it('calls onEvent and onMatch before PutEvents answers, until unsubscribed', async () => {
    const seen: string[] = [];
    const offEvent = server.onEvent((event, bus) => {
      seen.push(`event ${event['detail-type']} on ${bus}`);
    });
    const offMatch = server.onMatch((match) => {
      seen.push(`match ${match.rule}`);
    });

    await client.send(new PutEventsCommand({ Entries: [entry()] }));
    offEvent();
    offMatch();
    await client.send(new PutEventsCommand({ Entries: [entry()] }));

    expect(seen).toEqual(['event payment.succeeded on default', 'match succeeded-payments']);
  });

  it('keeps answering when a listener throws or rejects, and reports the error', async () => {
    const reported: unknown[] = [];
    const local = await startEventBusServer({ onError: (error) => reported.push(error) });
    const localClient = clientFor(local.url);
    local.onEvent(() => {
      throw new Error('sync boom');
    });
    local.onEvent(async () => {
      throw new Error('async boom');
    });
    try {
      const result = await localClient.send(new PutEventsCommand({ Entries: [entry()] }));
      await new Promise((resolve) => setImmediate(resolve));

      expect(result.FailedEntryCount).toBe(0);
      expect(local.events).toHaveLength(1);
      expect(reported.map((e) => (e as Error).message).sort()).toEqual(['async boom', 'sync boom']);
    } finally {
      localClient.destroy();
      await local.close();
    }
  });

  it('waitForEvent resolves with a later event and rejects when none comes in time', async () => {
    const waiting = server.waitForEvent((e) => e['detail-type'] === 'payment.refunded', 2_000);
    await client.send(new PutEventsCommand({ Entries: [entry({ DetailType: 'payment.refunded' })] }));

    await expect(waiting).resolves.toMatchObject({ 'detail-type': 'payment.refunded' });
    await expect(server.waitForMatch((m) => m.rule === 'nothing', 50)).rejects.toThrow(
      'No rule match matched within 50 ms',
    );
  });
});

describe('fault injection', () => {
  it('fails chosen entries per entry; only those are missing from the record', async () => {
    server.setFaults({ failEntry: (_entry, index) => index === 1, entryErrorCode: 'ThrottlingException' });

    const result = await client.send(
      new PutEventsCommand({
        Entries: [entry({ DetailType: 'a' }), entry({ DetailType: 'b' }), entry({ DetailType: 'c' })],
      }),
    );

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[1]).toEqual({
      ErrorCode: 'ThrottlingException',
      ErrorMessage: expect.stringContaining('injected'),
    });
    expect(server.events.map((e) => e['detail-type'])).toEqual(['a', 'c']);
    expect(server.events.map((e) => e.id)).toEqual([
      result.Entries?.[0]?.EventId,
      result.Entries?.[2]?.EventId,
    ]);
  });

  it('fails entries at a rate as InternalFailure, repeatably with a seeded random', async () => {
    const failedPositions = async () => {
      server.setFaults({ failEntryRate: 0.5, random: seededRandom(42) });
      const entries = Array.from({ length: 10 }, (_, i) => entry({ DetailType: `t${i}` }));
      const result = await client.send(new PutEventsCommand({ Entries: entries }));
      const failed = (result.Entries ?? []).flatMap((e, i) => (e.ErrorCode === 'InternalFailure' ? [i] : []));
      expect(result.FailedEntryCount).toBe(failed.length);
      return failed;
    };

    const first = await failedPositions();
    const second = await failedPositions();

    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(10);
    expect(second).toEqual(first);
    expect(server.events).toHaveLength(20 - first.length * 2);
  });

  it('throttles whole requests: the SDK raises its ThrottlingException (HTTP 400)', async () => {
    server.setFaults({ throttleRequests: 1 });

    const error = await noRetryClient
      .send(new PutEventsCommand({ Entries: [entry()] }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect(server.events).toHaveLength(0);
  });

  it('with default retries, the SDK retries a throttled request and succeeds', async () => {
    server.setFaults({ throttleRequests: 1 });

    const result = await client.send(new PutEventsCommand({ Entries: [entry()] }));

    expect(result.FailedEntryCount).toBe(0);
    expect(result.$metadata.attempts).toBe(2);
    expect(server.events).toHaveLength(1);
  });

  it('answers InternalException with HTTP 500 for the given number of requests', async () => {
    server.setFaults({ internalErrorRequests: 1 });

    const error = await noRetryClient
      .send(new PutEventsCommand({ Entries: [entry()] }))
      .catch((e: unknown) => e);
    const next = await noRetryClient.send(new PutEventsCommand({ Entries: [entry()] }));

    expect(error).toBeInstanceOf(InternalException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(next.FailedEntryCount).toBe(0);
    expect(server.events).toHaveLength(1);
  });
});

describe('event buses and rules through the API', () => {
  it('creates, describes and lists event buses', async () => {
    const name = `bus-${Date.now()}`;

    const created = await client.send(new CreateEventBusCommand({ Name: name }));
    const described = await client.send(new DescribeEventBusCommand({ Name: name }));
    const listed = await client.send(new ListEventBusesCommand({ NamePrefix: 'bus-' }));
    const duplicate = await client.send(new CreateEventBusCommand({ Name: name })).catch((e: unknown) => e);
    const missing = await client
      .send(new DescribeEventBusCommand({ Name: 'missing' }))
      .catch((e: unknown) => e);

    expect(created.EventBusArn).toBe(`arn:aws:events:us-east-1:000000000000:event-bus/${name}`);
    expect(described).toMatchObject({ Name: name, Arn: created.EventBusArn });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(listed.EventBuses?.map((b) => b.Name)).toEqual([name]);
    expect(duplicate).toBeInstanceOf(ResourceAlreadyExistsException);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('manages rules with PutRule, DescribeRule, ListRules and DeleteRule, and matches with them', async () => {
    const pattern = JSON.stringify({ 'detail-type': ['payment.failed'] });

    const put = await client.send(
      new PutRuleCommand({ Name: 'api-failed', EventBusName: PIPELINE_BUS, EventPattern: pattern }),
    );
    await client.send(
      new PutEventsCommand({
        Entries: [entry({ EventBusName: PIPELINE_BUS, DetailType: 'payment.failed' })],
      }),
    );
    const described = await client.send(
      new DescribeRuleCommand({ Name: 'api-failed', EventBusName: PIPELINE_BUS }),
    );
    const listed = await client.send(
      new ListRulesCommand({ EventBusName: PIPELINE_BUS, NamePrefix: 'api-' }),
    );
    await client.send(new DeleteRuleCommand({ Name: 'api-failed', EventBusName: PIPELINE_BUS }));
    const afterDelete = await client.send(
      new ListRulesCommand({ EventBusName: PIPELINE_BUS, NamePrefix: 'api-' }),
    );

    expect(put.RuleArn).toBe(`arn:aws:events:us-east-1:000000000000:rule/${PIPELINE_BUS}/api-failed`);
    expect(server.matches.map((m) => m.rule)).toEqual(['api-failed']);
    expect(described).toMatchObject({ Name: 'api-failed', State: 'ENABLED', EventPattern: pattern });
    expect(listed.Rules?.map((r) => r.Name)).toEqual(['api-failed']);
    expect(afterDelete.Rules).toEqual([]);
  });

  it('answers PutRule with an invalid pattern with InvalidEventPatternException', async () => {
    const error = await noRetryClient
      .send(
        new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ amount: [{ numeric: ['>'] }] }) }),
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidEventPatternException);
  });
});

describe('server lifecycle', () => {
  const saved = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = saved;
  });

  it('is reached through AWS_ENDPOINT_URL_EVENTBRIDGE, with any credentials', async () => {
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = server.url;
    const envClient = new EventBridgeClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'anything', secretAccessKey: 'whatever' },
    });
    try {
      const result = await envClient.send(new PutEventsCommand({ Entries: [entry()] }));

      expect(result.Entries?.[0]?.EventId).toMatch(UUID);
    } finally {
      envClient.destroy();
    }
  });

  it('listens on 127.0.0.1 only', () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });

  it('closes with a kept-alive SDK connection open, then refuses connections and rejects pending waits', async () => {
    const local = await startEventBusServer();
    const keptAlive = clientFor(local.url, { maxAttempts: 1 });
    await keptAlive.send(new PutEventsCommand({ Entries: [entry()] }));
    const pending = local.waitForEvent(() => false, 10_000).catch((e: unknown) => e);

    const started = Date.now();
    await local.close();
    const elapsed = Date.now() - started;
    keptAlive.destroy();
    const fresh = clientFor(local.url, { maxAttempts: 1 });
    const after = await fresh.send(new PutEventsCommand({ Entries: [entry()] })).catch((e: unknown) => e);
    fresh.destroy();

    expect(elapsed).toBeLessThan(1_000);
    expect(await pending).toMatchObject({ message: 'The local event bus was closed' });
    expect(after).toMatchObject({ code: 'ECONNREFUSED' });
    await expect(local.close()).resolves.toBeUndefined();
  });
});

describe('a bounded record', () => {
  it('keeps only about the latest maxRecorded events in memory', async () => {
    const bounded = await startEventBusServer({ maxRecorded: 20 });
    try {
      const client = new EventBridgeClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        endpoint: bounded.url,
      });
      for (let batch = 0; batch < 10; batch++) {
        await client.send(
          new PutEventsCommand({
            Entries: Array.from({ length: 10 }, (_, n) => ({
              Source: 'okepay',
              DetailType: 't',
              Detail: JSON.stringify({ n: batch * 10 + n }),
            })),
          }),
        );
      }
      expect(bounded.events.length).toBeGreaterThanOrEqual(20);
      expect(bounded.events.length).toBeLessThanOrEqual(22);
      expect(bounded.events.at(-1)?.detail).toEqual({ n: 99 });
      client.destroy();
    } finally {
      await bounded.close();
    }
  });
});
