import { integer, optionalString } from '../shared/config.ts';

export interface ContinuationConfig {
  /**
   * The function's own name (AWS_LAMBDA_FUNCTION_NAME, set by the Lambda runtime), which a run invokes
   * to continue the replay; undefined outside Lambda, where a run returns `resumeWith` instead.
   */
  functionName: string | undefined;
  /** Runs one replay may chain by invoking itself: a bound so that a bug cannot loop for ever. */
  maxChain: number;
}

/** 200 runs of at most 15 minutes: about 50 hours of replay (18 million events at 100 events/s). */
export const DEFAULT_MAX_CHAIN = 200;
export const MAX_CHAIN_SETTING = 10_000;

/** Reads and checks the self-continuation's environment; throws ConfigurationError. */
export function loadContinuationConfig(env: Record<string, string | undefined>): ContinuationConfig {
  return {
    functionName: optionalString(env, 'AWS_LAMBDA_FUNCTION_NAME'),
    maxChain: integer(env, 'OKEPAY_REPLAY_MAX_CHAIN', DEFAULT_MAX_CHAIN, 1, MAX_CHAIN_SETTING),
  };
}
