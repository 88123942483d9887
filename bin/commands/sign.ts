import { readFileSync } from 'node:fs';
import { DEV_WEBHOOK_SECRET } from '../../functions/local/pipeline.ts';
import {
  SIGNATURE_SCHEMES,
  type SignatureScheme,
  signatureHeader,
} from '../../functions/shared/ipn/signature.ts';
import { parseSecretList } from '../../functions/shared/secrets/webhook-secrets.ts';
import { parseOptions, UsageError } from './command.ts';

export const summary = 'print the X-Okepay-Signature header for a body';
export const usage = `Usage: okepay sign [FILE] [options]

Prints the X-Okepay-Signature header value for the exact bytes of FILE (or standard input).

Options:
  --secret S        webhook secret (default: first of OKEPAY_WEBHOOK_SECRETS, else the local development secret)
  --scheme S        body (default) | timestamp.body
  --timestamp T     unix seconds (default: now)`;

export function signingOptions(values: { secret?: string; scheme?: string; timestamp?: string }) {
  const secret =
    values.secret ??
    (process.env.OKEPAY_WEBHOOK_SECRETS
      ? parseSecretList(process.env.OKEPAY_WEBHOOK_SECRETS)[0]
      : undefined) ??
    DEV_WEBHOOK_SECRET;
  const scheme = (values.scheme ?? process.env.OKEPAY_SIGNATURE_SCHEME ?? 'body') as SignatureScheme;
  if (!SIGNATURE_SCHEMES.includes(scheme))
    throw new UsageError(`--scheme must be body or timestamp.body, got "${scheme}"`);
  if (values.timestamp !== undefined && !/^\d+$/.test(values.timestamp)) {
    throw new UsageError(`--timestamp must be unix seconds, got "${values.timestamp}"`);
  }
  const timestamp = values.timestamp === undefined ? Math.floor(Date.now() / 1000) : Number(values.timestamp);
  return { secret, scheme, timestamp };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: { secret: { type: 'string' }, scheme: { type: 'string' }, timestamp: { type: 'string' } },
  });
  if (positionals.length > 1) throw new UsageError('give at most one FILE');
  const body = readFileSync(positionals[0] ?? 0);
  console.log(signatureHeader({ rawBody: body, ...signingOptions(values) }));
  return 0;
}
