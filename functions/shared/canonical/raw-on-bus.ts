import { ConfigurationError, oneOf, optionalString } from '../config.ts';
import type { RawOnBus } from './normalise.ts';

const MODES = ['all', 'none', 'redact'] as const;
const PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/**
 * `OKEPAY_RAW_ON_BUS` (all | none | redact) and `OKEPAY_RAW_REDACT_PATHS` (a JSON array of dot paths of
 * the okePay payload): what `detail.raw` carries on the bus. Read by the consumer and the replay, so a
 * replayed event shares what the live one shared.
 */
export function rawOnBusFromEnv(env: Record<string, string | undefined>): RawOnBus {
  const mode = oneOf(env, 'OKEPAY_RAW_ON_BUS', MODES, 'all');
  if (mode !== 'redact') return { mode };
  const text = optionalString(env, 'OKEPAY_RAW_REDACT_PATHS');
  let paths: unknown;
  try {
    paths = text === undefined ? undefined : JSON.parse(text);
  } catch {
    paths = undefined;
  }
  if (
    !Array.isArray(paths) ||
    paths.length === 0 ||
    !paths.every((path) => typeof path === 'string' && PATH.test(path))
  ) {
    throw new ConfigurationError(
      'OKEPAY_RAW_REDACT_PATHS',
      `must be a JSON array of dot paths such as ["customer.email"] when OKEPAY_RAW_ON_BUS is redact, got ${text === undefined ? 'nothing' : `"${text}"`}`,
    );
  }
  return { mode, paths: paths as string[] };
}
