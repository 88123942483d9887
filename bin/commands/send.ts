import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signatureHeader } from '../../functions/shared/ipn/signature.ts';
import { parseOptions, UsageError } from './command.ts';
import { signingOptions } from './sign.ts';
import { readLocalEndpoints } from './targets.ts';

export const summary = 'sign and POST an IPN (a file, or one built from flags) to the pipeline';
export const usage = `Usage: okepay send [FILE] [options]

Signs and POSTs an okePay IPN: the exact bytes of FILE (e.g. events/ipn/payment-succeeded.json), or one
built from the flags. Prints the answer; exits 1 unless it is 2xx.

Options:
  --url URL           endpoint (default: the running local pipeline's, from its endpoints.json)
  --data-dir DIR      where the local pipeline runs (env OKEPAY_DATA_DIR, default .okepay-local)
  --type T            event name (default payment.succeeded)
  --payment-id ID     default: a new random pay_... id
  --order-ref REF     default ORDER-<random>
  --amount A          decimal text, sent as a JSON number exactly as given (default 129.90)
  --currency C        ISO 4217 code (default EUR)
  --occurred-at T     ISO 8601 (default now)
  --secret S          webhook secret (default: first of OKEPAY_WEBHOOK_SECRETS, else the local development secret)
  --scheme S          body (default) | timestamp.body
  --timestamp T       signature timestamp, unix seconds (default now)

Examples:
  npx okepay send --type payment.succeeded
  npx okepay send --type payment.refunded --payment-id pay_123 --amount 10.00
  npx okepay send events/ipn/payment-chargeback.json --url https://abc.execute-api.eu-west-1.amazonaws.com/okepay/ipn --secret "$SECRET"`;

const DECIMAL = /^\d+(\.\d+)?$/;

export function buildIpnBody(values: Record<string, string | undefined>): string {
  const amount = values.amount ?? '129.90';
  if (!DECIMAL.test(amount))
    throw new UsageError(`--amount must be a plain decimal such as 129.90, got "${amount}"`);
  const id = randomBytes(6).toString('hex');
  const fields = {
    event: values.type ?? 'payment.succeeded',
    payment_id: values['payment-id'] ?? `pay_${id}`,
    order_ref: values['order-ref'] ?? `ORDER-${id.toUpperCase()}`,
    amount: '__AMOUNT__',
    currency: values.currency ?? 'EUR',
    occurred_at: values['occurred-at'] ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  // The amount goes out as a JSON number written exactly as given: JSON.stringify would turn 129.90 into 129.9.
  return JSON.stringify(fields, null, 2).replace('"__AMOUNT__"', amount);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      type: { type: 'string' },
      'payment-id': { type: 'string' },
      'order-ref': { type: 'string' },
      amount: { type: 'string' },
      currency: { type: 'string' },
      'occurred-at': { type: 'string' },
      secret: { type: 'string' },
      scheme: { type: 'string' },
      timestamp: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new UsageError('give at most one FILE');
  const body = positionals[0] ? readFileSync(positionals[0]) : Buffer.from(buildIpnBody(values));
  // Without --url, the running local pipeline's endpoint (an error says how to start one).
  const url = values.url ?? readLocalEndpoints(values, process.env, process.cwd()).ipnUrl;
  if (!url)
    throw new UsageError('the local pipeline wrote no IPN URL; pass --url, or restart it with `npm start`');
  const header = signatureHeader({ rawBody: body, ...signingOptions(values) });
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-okepay-signature': header },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new Error(
      `cannot reach ${url}: ${(error as Error).cause ?? (error as Error).message}. Is the pipeline running?`,
    );
  }
  const text = await response.text();
  console.log(`${response.status} ${text}`);
  return response.ok ? 0 : 1;
}
