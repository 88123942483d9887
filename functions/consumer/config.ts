import { DEFAULT_EVENT_SOURCE } from '../shared/canonical/constants.ts';
import type { RawOnBus } from '../shared/canonical/normalise.ts';
import { rawOnBusFromEnv } from '../shared/canonical/raw-on-bus.ts';
import { optionalString, requiredString } from '../shared/config.ts';

export interface ConsumerConfig {
  tableName: string;
  eventBusName: string;
  eventSource: string;
  rawOnBus: RawOnBus;
}

/** Reads and checks the consumer function's environment; throws ConfigurationError. */
export function loadConsumerConfig(env: Record<string, string | undefined>): ConsumerConfig {
  return {
    tableName: requiredString(env, 'TABLE_NAME'),
    eventBusName: requiredString(env, 'EVENT_BUS_NAME'),
    eventSource: optionalString(env, 'EVENT_SOURCE') ?? DEFAULT_EVENT_SOURCE,
    rawOnBus: rawOnBusFromEnv(env),
  };
}
