import { readFileSync } from 'node:fs';
import { DEV_WEBHOOK_SECRET } from '../../functions/local/pipeline.ts';
import {
  SIGNATURE_HEADER,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
} from '../../functions/shared/ipn/signature.ts';
import {
  diagnoseSignature,
  formatDuration,
  type SignatureDiagnosis,
} from '../../functions/shared/ipn/signature-doctor.ts';
import { parseSecretList } from '../../functions/shared/secrets/webhook-secrets.ts';
import { parseOptions, UsageError } from './command.ts';

export const summary = 'say why an IPN signature fails (wrong secret, scheme, clock, re-serialised body)';
export const usage = `Usage: okepay doctor [FILE] [options]

Says why a captured okePay IPN request fails its signature check, or that it passes, and what to do.
FILE (or standard input) holds one of:
  - a raw HTTP request: "POST /okepay/ipn HTTP/1.1", the headers, a blank line, the body;
  - an API Gateway event as JSON: {"headers": {...}, "body": "...", "isBase64Encoded": false};
  - the body alone, byte for byte, with the header given by --header.
It checks the configured secrets under both schemes, the timestamp against the tolerance, and forms a
framework may have turned the body into (re-serialised JSON, line endings, BOM, base64, URL encoding).
It never prints a secret, nor a signature computed with one.

Options:
  --header VALUE    the X-Okepay-Signature value; FILE (or standard input) is then the body alone
  --secret S        a configured webhook secret; repeat for several, in their configured order
                    (default: OKEPAY_WEBHOOK_SECRETS)
  --local           the secret(s) the local pipeline (npm start) uses: OKEPAY_WEBHOOK_SECRETS when
                    set, else its development secret
  --scheme S        the endpoint's scheme: body | timestamp.body (default: OKEPAY_SIGNATURE_SCHEME, else body)
  --tolerance N     the endpoint's tolerance in seconds (default: OKEPAY_SIGNATURE_TOLERANCE_SECONDS, else 300)
  --at TIME         when the request was received: ISO 8601 or unix seconds (default: the event's
                    requestContext time when the JSON has one, else now)
  --json            the diagnosis as JSON, for scripts
  -h, --help        show this help

Exit status: 0 when the signature is valid, 1 when a problem was found, 2 for bad usage.

Examples:
  npx okepay doctor request.http --local
  npx okepay doctor apigw-event.json --secret "$NEW_SECRET" --secret "$OLD_SECRET" --scheme timestamp.body
  npx okepay doctor body.json --header 't=1715342812,v1=8f3c...' --at 2026-05-10T12:47:00Z --local
  OKEPAY_WEBHOOK_SECRETS='["whsec_new","whsec_old"]' npx okepay doctor request.http --json`;

/** A request as captured: the signature header (if any), the body's exact bytes, and where they came from. */
export interface CapturedRequest {
  format: 'http' | 'api-gateway' | 'body';
  header: string | undefined;
  rawBody: Buffer;
  /** When the capture says the request was received (API Gateway's requestContext), in ms. */
  receivedAtMs?: number;
  /** Things worth knowing about the capture itself (a body cut short, bytes ignored). */
  notes: string[];
}

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/\d(?:\.\d)?\r?\n/;

/**
 * Reads a captured request: a raw HTTP request, an API Gateway event (payload v1 or v2), or, with
 * `headerValue`, the body alone. Throws UsageError when it is none of these.
 */
export function readCapturedRequest(input: Buffer, headerValue?: string): CapturedRequest {
  if (headerValue !== undefined) return { format: 'body', header: headerValue, rawBody: input, notes: [] };
  const start = input.toString('latin1', 0, 200).replace(/^\s+/, '');
  if (REQUEST_LINE.test(start)) return readHttpRequest(input);
  const event = apiGatewayEvent(input);
  if (event) return event;
  throw new UsageError(
    'the input is neither a raw HTTP request ("POST ... HTTP/1.1", headers, blank line, body) nor an API ' +
      'Gateway event ({"headers": {...}, "body": "..."}); if it is the body alone, give the header with --header',
  );
}

function readHttpRequest(input: Buffer): CapturedRequest {
  const offset = input.length - input.toString('latin1').replace(/^\s+/, '').length;
  const text = input.toString('latin1');
  const crlf = text.indexOf('\r\n\r\n', offset);
  const lf = text.indexOf('\n\n', offset);
  const useCrlf = crlf !== -1 && (lf === -1 || crlf < lf);
  const end = useCrlf ? crlf : lf;
  const notes: string[] = [];
  const headerText = end === -1 ? text.slice(offset) : text.slice(offset, end);
  let body = end === -1 ? Buffer.alloc(0) : input.subarray(end + (useCrlf ? 4 : 2));
  if (end === -1) notes.push('no blank line after the headers: the capture has no body');

  const headers = new Map<string, string>();
  for (const line of headerText.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    // Header values are bytes on the wire; decode them as UTF-8, as Node's HTTP server does not but
    // a pasted capture usually is.
    const value = Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8');
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }

  if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) {
    const decoded = decodeChunked(body);
    if (decoded) {
      body = decoded;
      notes.push('the body was sent chunked (Transfer-Encoding: chunked); checked the de-chunked bytes');
    } else {
      notes.push(
        'Transfer-Encoding says chunked, but the body is not valid chunked encoding; checked it as is',
      );
    }
  } else {
    const lengthText = headers.get('content-length');
    const length = lengthText !== undefined && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
    if (length !== undefined && body.length > length) {
      notes.push(
        `ignored ${body.length - length} byte(s) after the Content-Length of ${length} ` +
          '(an editor often adds a final line break when a capture is saved)',
      );
      body = body.subarray(0, length);
    } else if (length !== undefined && body.length < length) {
      notes.push(
        `the body has ${body.length} bytes but Content-Length says ${length}: the capture may be cut short`,
      );
    }
  }
  return { format: 'http', header: headers.get(SIGNATURE_HEADER), rawBody: body, notes };
}

function decodeChunked(body: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', position);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(body.toString('latin1', position, lineEnd).split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const dataStart = lineEnd + 2;
    if (dataStart + size > body.length) return undefined;
    parts.push(body.subarray(dataStart, dataStart + size));
    position = dataStart + size + 2;
  }
}

function apiGatewayEvent(input: Buffer): CapturedRequest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const event = parsed as Record<string, unknown>;
  if (!('headers' in event || 'multiValueHeaders' in event) || !('body' in event)) return undefined;
  const notes: string[] = [];

  let header: string | undefined;
  for (const source of [event.headers, event.multiValueHeaders]) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [name, value] of Object.entries(source)) {
      if (name.toLowerCase() !== SIGNATURE_HEADER || header !== undefined) continue;
      if (typeof value === 'string') header = value;
      else if (Array.isArray(value)) header = value.filter((item) => typeof item === 'string').join(',');
    }
  }

  let rawBody: Buffer;
  if (event.body === null || event.body === undefined) {
    rawBody = Buffer.alloc(0);
  } else if (typeof event.body === 'string') {
    rawBody = event.isBase64Encoded === true ? Buffer.from(event.body, 'base64') : Buffer.from(event.body);
  } else {
    rawBody = Buffer.from(JSON.stringify(event.body));
    notes.push(
      '"body" is a JSON value in this file, not a string: the bytes okePay sent are lost, so its compact ' +
        'JSON was checked. Capture the event as API Gateway delivers it (body as a string).',
    );
  }

  const context = event.requestContext as { timeEpoch?: unknown; requestTimeEpoch?: unknown } | undefined;
  const epoch = context?.timeEpoch ?? context?.requestTimeEpoch;
  return {
    format: 'api-gateway',
    header,
    rawBody,
    ...(typeof epoch === 'number' && Number.isFinite(epoch) ? { receivedAtMs: epoch } : {}),
    notes,
  };
}

export interface DoctorSettings {
  secrets: string[];
  secretsFrom: string;
  scheme: SignatureScheme;
  toleranceSeconds: number;
}

/** The endpoint's settings, from the flags and the environment; the same defaults as the ingest function. */
export function doctorSettings(
  values: { secret?: string[]; local?: boolean; scheme?: string; tolerance?: string },
  env: NodeJS.ProcessEnv,
): DoctorSettings {
  let secrets: string[];
  let secretsFrom: string;
  if (values.secret?.length) {
    if (values.local) throw new UsageError('give --secret or --local, not both');
    secrets = values.secret;
    secretsFrom = '--secret';
  } else if (env.OKEPAY_WEBHOOK_SECRETS) {
    secrets = parseSecretList(env.OKEPAY_WEBHOOK_SECRETS);
    secretsFrom = 'OKEPAY_WEBHOOK_SECRETS';
  } else if (values.local) {
    secrets = [DEV_WEBHOOK_SECRET];
    secretsFrom = "the local pipeline's development secret";
  } else {
    throw new UsageError(
      'which secrets does the endpoint use? Give --secret (repeatable), set OKEPAY_WEBHOOK_SECRETS, or ' +
        'pass --local for the local pipeline',
    );
  }
  if (secrets.length === 0) throw new UsageError(`${secretsFrom} holds no secret`);

  const scheme = (values.scheme ?? env.OKEPAY_SIGNATURE_SCHEME ?? 'body') as SignatureScheme;
  if (!SIGNATURE_SCHEMES.includes(scheme))
    throw new UsageError(`--scheme must be body or timestamp.body, got "${scheme}"`);
  const toleranceText = values.tolerance ?? env.OKEPAY_SIGNATURE_TOLERANCE_SECONDS ?? '300';
  if (!/^\d+$/.test(toleranceText) || Number(toleranceText) < 1)
    throw new UsageError(`--tolerance must be a number of seconds, got "${toleranceText}"`);
  return { secrets, secretsFrom, scheme, toleranceSeconds: Number(toleranceText) };
}

function parseAt(text: string): number {
  const ms = /^\d{1,11}$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--at must be ISO 8601 or unix seconds, got "${text}"`);
  return ms;
}

export interface DoctorIo {
  /** The bytes of FILE, or of standard input when no path is given. */
  readInput(path: string | undefined): Buffer;
  env: NodeJS.ProcessEnv;
  nowMs: number;
}

/** Runs the command over the given input and environment; returns the exit code and what to print. */
export function doctor(argv: string[], io: DoctorIo): { code: number; output: string } {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      header: { type: 'string' },
      secret: { type: 'string', multiple: true },
      local: { type: 'boolean' },
      scheme: { type: 'string' },
      tolerance: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new UsageError('give at most one FILE');
  const settings = doctorSettings(values, io.env);
  const captured = readCapturedRequest(io.readInput(positionals[0]), values.header);
  const [nowMs, receivedFrom] =
    values.at !== undefined
      ? [parseAt(values.at), '--at']
      : captured.receivedAtMs !== undefined
        ? [captured.receivedAtMs, "the event's requestContext"]
        : [io.nowMs, 'now; give --at with the time the request was received'];

  const diagnosis = diagnoseSignature({
    header: captured.header,
    rawBody: captured.rawBody,
    secrets: settings.secrets,
    scheme: settings.scheme,
    toleranceSeconds: settings.toleranceSeconds,
    nowMs,
  });
  const code = diagnosis.valid ? 0 : 1;
  if (values.json) {
    const report = {
      ...diagnosis,
      input: {
        format: captured.format,
        notes: captured.notes,
        receivedAt: new Date(nowMs).toISOString(),
        receivedAtFrom: receivedFrom,
        secretsFrom: settings.secretsFrom,
      },
    };
    return { code, output: JSON.stringify(report, null, 2) };
  }
  return { code, output: describe(diagnosis, captured, settings, nowMs, receivedFrom) };
}

const FORMAT_NAMES: Record<CapturedRequest['format'], string> = {
  http: 'raw HTTP request',
  'api-gateway': 'API Gateway event',
  body: 'body with --header',
};

function describe(
  diagnosis: SignatureDiagnosis,
  captured: CapturedRequest,
  settings: DoctorSettings,
  nowMs: number,
  receivedFrom: string,
): string {
  const signed = diagnosis.header
    ? `t=${diagnosis.header.timestamp} (${isoSeconds(diagnosis.header.timestamp * 1000)}), ` +
      `${diagnosis.header.signatures} v1`
    : 'none readable';
  const checked = [
    `input ${FORMAT_NAMES[captured.format]}`,
    `body ${diagnosis.bodyBytes} bytes`,
    `header ${signed}`,
    `${settings.secrets.length} secret${settings.secrets.length === 1 ? '' : 's'} from ${settings.secretsFrom}`,
    `scheme ${settings.scheme}`,
    `tolerance ${formatDuration(settings.toleranceSeconds)}`,
    `received ${isoSeconds(nowMs)} (${receivedFrom})`,
    ...(diagnosis.variantsTried > 0 ? [`${diagnosis.variantsTried} body variants tried`] : []),
  ];
  const lines = [
    `${diagnosis.verdict}: ${diagnosis.title}`,
    '',
    ...wrap(diagnosis.explanation, '  '),
    '',
    ...wrap(`What to do: ${diagnosis.fix}`, '  '),
    '',
    ...wrap(`Checked: ${checked.join('; ')}.`, '  '),
    ...captured.notes.flatMap((note) => wrap(`Note: ${note}.`, '  ')),
  ];
  return lines.join('\n');
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  const { code, output } = doctor(argv, {
    readInput: (path) => {
      if (path === undefined && process.stdin.isTTY) {
        throw new UsageError('give FILE, or pipe the captured request on standard input');
      }
      return readFileSync(path ?? 0);
    },
    env: process.env,
    nowMs: Date.now(),
  });
  console.log(output);
  return code;
}
