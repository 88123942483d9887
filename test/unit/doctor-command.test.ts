import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/commands/command.ts';
import { doctor, readCapturedRequest } from '../../bin/commands/doctor.ts';
import { DEV_WEBHOOK_SECRET } from '../../functions/local/pipeline.ts';
import { computeSignature, signedContent } from '../../functions/shared/ipn/signature.ts';
import { NOW_MS, NOW_SECONDS, OTHER_SECRET, sign, TEST_SECRET } from '../helpers/ipn.ts';

const BODY = `{
  "event": "payment.succeeded",
  "payment_id": "pay_8b1e4c2a9f",
  "order_ref": "ORDER-100234",
  "amount": 129.90,
  "currency": "EUR",
  "occurred_at": "2026-05-10T12:46:52Z"
}`;

function httpDump(body: string, header: string | undefined, eol = '\r\n', extraHeaders: string[] = []) {
  const headers = [
    'POST /okepay/ipn HTTP/1.1',
    'Host: shop.example',
    'Content-Type: application/json',
    ...(header === undefined ? [] : [`X-Okepay-Signature: ${header}`]),
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extraHeaders,
  ];
  return Buffer.from(`${headers.join(eol)}${eol}${eol}${body}`);
}

function run(argv: string[], input: Buffer | string, env: NodeJS.ProcessEnv = {}) {
  return doctor(argv, { readInput: () => Buffer.from(input), env, nowMs: NOW_MS });
}

describe('readCapturedRequest', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
  ])('reads a raw HTTP request with %s line breaks, keeping the body bytes exactly', (_name, eol) => {
    const captured = readCapturedRequest(httpDump(BODY, sign(BODY), eol));

    expect(captured).toMatchObject({ format: 'http', header: sign(BODY), notes: [] });
    expect(captured.rawBody.toString()).toBe(BODY);
  });

  it('drops bytes past Content-Length (a final newline added by an editor) and says so', () => {
    const captured = readCapturedRequest(Buffer.concat([httpDump(BODY, sign(BODY)), Buffer.from('\n')]));

    expect(captured.rawBody.toString()).toBe(BODY);
    expect(captured.notes).toEqual([expect.stringContaining('ignored 1 byte(s) after the Content-Length')]);
  });

  it('says when the body is shorter than Content-Length', () => {
    const dump = httpDump(BODY, sign(BODY));

    expect(readCapturedRequest(dump.subarray(0, dump.length - 5)).notes).toEqual([
      expect.stringContaining('the capture may be cut short'),
    ]);
  });

  it('de-chunks a chunked body', () => {
    const chunked = `${(20).toString(16)}\r\n${BODY.slice(0, 20)}\r\n${(BODY.length - 20).toString(16)}\r\n${BODY.slice(20)}\r\n0\r\n\r\n`;
    const dump = Buffer.from(
      `POST /okepay/ipn HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Okepay-Signature: ${sign(BODY)}\r\n\r\n${chunked}`,
    );

    expect(readCapturedRequest(dump).rawBody.toString()).toBe(BODY);
  });

  it('reads an API Gateway v2 event, base64 body included, with its receive time', () => {
    const event = {
      version: '2.0',
      headers: { 'x-okepay-signature': sign(BODY) },
      body: Buffer.from(BODY).toString('base64'),
      isBase64Encoded: true,
      requestContext: { timeEpoch: NOW_MS - 1_000 },
    };

    expect(readCapturedRequest(Buffer.from(JSON.stringify(event)))).toMatchObject({
      format: 'api-gateway',
      header: sign(BODY),
      rawBody: Buffer.from(BODY),
      receivedAtMs: NOW_MS - 1_000,
    });
  });

  it('reads an API Gateway v1 event with multiValueHeaders and any header case', () => {
    const event = {
      multiValueHeaders: { 'X-OKEPAY-SIGNATURE': [sign(BODY)] },
      body: BODY,
      requestContext: { requestTimeEpoch: NOW_MS },
    };

    expect(readCapturedRequest(Buffer.from(JSON.stringify(event)))).toMatchObject({
      header: sign(BODY),
      rawBody: Buffer.from(BODY),
      receivedAtMs: NOW_MS,
    });
  });

  it('takes the input as the body alone, byte for byte, with --header', () => {
    const body = Buffer.from(`\uFEFF${BODY}\r\n`);

    expect(readCapturedRequest(body, 't=1,v1=x')).toMatchObject({
      format: 'body',
      header: 't=1,v1=x',
      rawBody: body,
    });
  });

  it('refuses an input it cannot read, saying what --header is for', () => {
    expect(() => readCapturedRequest(Buffer.from(BODY))).toThrow(/give the header with --header/);
  });
});

describe('okepay doctor', () => {
  const cases: [string, string[], Buffer | string, string, number][] = [
    [
      'valid',
      ['--secret', TEST_SECRET],
      httpDump(BODY, sign(BODY, { timestamp: NOW_SECONDS - 2 })),
      'valid',
      0,
    ],
    ['missing header', ['--secret', TEST_SECRET], httpDump(BODY, undefined), 'missing_header', 1],
    [
      'malformed header',
      ['--secret', TEST_SECRET],
      httpDump(BODY, `t=${NOW_MS},v1=abc`),
      'malformed_header',
      1,
    ],
    [
      'wrong secret',
      ['--secret', TEST_SECRET, '--secret', `${TEST_SECRET}_next`],
      httpDump(BODY, sign(BODY, { secret: OTHER_SECRET })),
      'wrong_secret',
      1,
    ],
    [
      'wrong scheme',
      ['--secret', TEST_SECRET],
      httpDump(BODY, sign(BODY, { scheme: 'timestamp.body' })),
      'wrong_scheme',
      1,
    ],
    [
      'clock skew',
      ['--secret', TEST_SECRET],
      httpDump(BODY, sign(BODY, { timestamp: NOW_SECONDS - 452 })),
      'clock_skew',
      1,
    ],
    [
      're-serialised body',
      ['--secret', TEST_SECRET, '--header', sign(BODY)],
      JSON.stringify(JSON.parse(BODY)),
      'body_reserialised',
      1,
    ],
  ];

  it.each(cases)('%s: names the verdict and exits %i', (_name, argv, input, verdict, code) => {
    const text = run(argv, input);
    const json = run([...argv, '--json'], input);

    expect(text.code).toBe(code);
    expect(text.output.split('\n')[0]).toMatch(new RegExp(`^${verdict}: `));
    expect(text.output).toContain('What to do: ');
    expect(json.code).toBe(code);
    expect(JSON.parse(json.output)).toMatchObject({
      verdict,
      valid: code === 0,
      input: { secretsFrom: '--secret' },
    });
  });

  it.each(cases)('%s: prints no secret and no HMAC of one, as text or JSON', (_name, argv, input) => {
    const secrets = [TEST_SECRET, `${TEST_SECRET}_next`, OTHER_SECRET];
    const output = run(argv, input).output + run([...argv, '--json'], input).output;
    const captured = readCapturedRequest(
      Buffer.from(input),
      argv.includes('--header') ? argv[argv.indexOf('--header') + 1] : undefined,
    );
    const forbidden = [...secrets];
    for (const v1 of (captured.header ?? '').matchAll(/v1=([0-9a-f]{64})/g)) forbidden.push(v1[1] ?? '');
    for (const secret of secrets) {
      for (const scheme of ['body', 'timestamp.body'] as const) {
        for (const body of [captured.rawBody, Buffer.from(BODY)]) {
          const digest = computeSignature(secret, signedContent(scheme, NOW_SECONDS, body));
          forbidden.push(digest.toString('hex'), digest.toString('base64'));
        }
      }
    }
    for (const item of forbidden) expect(output).not.toContain(item);
  });

  it('says how far and which way the clock is off, measured from --at', () => {
    const header = sign(BODY, { timestamp: NOW_SECONDS });
    const output = run(
      ['--secret', TEST_SECRET, '--header', header, '--at', String(NOW_SECONDS + 600)],
      BODY,
    );

    expect(output.output).toContain('10 min in the past');
    expect(
      run(['--secret', TEST_SECRET, '--header', header, '--at', '2026-05-10T12:47:03Z'], BODY).code,
    ).toBe(0);
  });

  it("measures the skew from the API Gateway event's receive time", () => {
    const event = {
      headers: { 'x-okepay-signature': sign(BODY, { timestamp: NOW_SECONDS - 100_000 }) },
      body: BODY,
      requestContext: { timeEpoch: (NOW_SECONDS - 100_000 + 1) * 1000 },
    };

    const result = JSON.parse(run(['--secret', TEST_SECRET, '--json'], JSON.stringify(event)).output);

    expect(result).toMatchObject({
      verdict: 'valid',
      skewSeconds: 1,
      input: { receivedAtFrom: "the event's requestContext" },
    });
  });

  it('takes the secrets from OKEPAY_WEBHOOK_SECRETS (a JSON array), in order', () => {
    const result = JSON.parse(
      run(['--json'], httpDump(BODY, sign(BODY)), {
        OKEPAY_WEBHOOK_SECRETS: JSON.stringify([OTHER_SECRET, TEST_SECRET]),
      }).output,
    );

    expect(result).toMatchObject({
      verdict: 'valid',
      match: { secretPosition: 2 },
      settings: { secretsTried: 2 },
    });
  });

  it("uses the local pipeline's development secret with --local", () => {
    const dump = httpDump(BODY, sign(BODY, { secret: DEV_WEBHOOK_SECRET }));

    expect(JSON.parse(run(['--local', '--json'], dump).output)).toMatchObject({ verdict: 'valid' });
  });

  it('uses --scheme and --tolerance, else their environment variables', () => {
    const dump = httpDump(BODY, sign(BODY, { scheme: 'timestamp.body', timestamp: NOW_SECONDS - 100 }));
    const verdict = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      JSON.parse(run([...argv, '--secret', TEST_SECRET, '--json'], dump, env).output).verdict;

    expect(verdict(['--scheme', 'timestamp.body'])).toBe('valid');
    expect(verdict([], { OKEPAY_SIGNATURE_SCHEME: 'timestamp.body' })).toBe('valid');
    expect(verdict(['--scheme', 'timestamp.body', '--tolerance', '60'])).toBe('clock_skew');
    expect(
      verdict([], { OKEPAY_SIGNATURE_SCHEME: 'timestamp.body', OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '60' }),
    ).toBe('clock_skew');
  });

  it.each([
    [[], /Give --secret \(repeatable\), set OKEPAY_WEBHOOK_SECRETS, or pass --local/i],
    [['--secret', 'a', '--local'], /not both/],
    [['--secret', 'a', '--scheme', 'hmac'], /--scheme must be body or timestamp.body/],
    [['--secret', 'a', '--tolerance', 'soon'], /--tolerance must be a number of seconds/],
    [['--secret', 'a', '--at', 'yesterday'], /--at must be ISO 8601 or unix seconds/],
    [['--secret', 'a', 'one', 'two'], /at most one FILE/],
  ])('refuses %j', (argv, message) => {
    expect(() => run(argv, httpDump(BODY, sign(BODY)))).toThrow(UsageError);
    expect(() => run(argv, httpDump(BODY, sign(BODY)))).toThrow(message);
  });
});

describe('npx okepay doctor', () => {
  const bin = join(import.meta.dirname, '../../bin/okepay.js');

  it('reads the captured request on standard input and exits 1 on a problem', () => {
    let status = 0;
    let stdout = '';
    try {
      execFileSync(process.execPath, [bin, 'doctor', '--local', '--at', String(NOW_SECONDS)], {
        input: httpDump(BODY, sign(BODY, { secret: OTHER_SECRET })),
        env: { ...process.env, OKEPAY_WEBHOOK_SECRETS: '' },
        encoding: 'utf8',
      });
    } catch (error) {
      ({ status, stdout } = error as { status: number; stdout: string });
    }

    expect(status).toBe(1);
    expect(stdout).toMatch(/^wrong_secret: No configured secret verifies this signature/);
    expect(stdout).not.toContain(DEV_WEBHOOK_SECRET);
  });

  it('has --help with examples', () => {
    const help = execFileSync(process.execPath, [bin, 'doctor', '--help'], { encoding: 'utf8' });

    expect(help).toContain('Usage: okepay doctor [FILE] [options]');
    expect(help).toContain('Examples:');
  });
});
