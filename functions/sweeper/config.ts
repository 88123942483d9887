import { integer, requiredString } from '../shared/config.ts';

export interface SweeperConfig {
  tableName: string;
  queueUrl: string;
  graceSeconds: number;
}

/** Reads and checks the sweeper function's environment; throws ConfigurationError naming the variable. */
export function loadSweeperConfig(env: Record<string, string | undefined>): SweeperConfig {
  return {
    tableName: requiredString(env, 'TABLE_NAME'),
    queueUrl: requiredString(env, 'QUEUE_URL'),
    // At least a minute: younger items are normally still in the queue or the consumer's hands.
    graceSeconds: integer(env, 'OKEPAY_SWEEP_GRACE_SECONDS', 900, 60, 86_400),
  };
}
