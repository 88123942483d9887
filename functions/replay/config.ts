import { DEFAULT_EVENT_SOURCE } from '../shared/canonical/constants.ts';
import type { RawOnBus } from '../shared/canonical/normalise.ts';
import { rawOnBusFromEnv } from '../shared/canonical/raw-on-bus.ts';
import { optionalString, requiredString } from '../shared/config.ts';

export interface ReplayConfig {
  tableName: string;
  eventBusName: string;
  eventSource: string;
  rawOnBus: RawOnBus;
}

/** Reads and checks the replay function's environment; throws ConfigurationError. */
export function loadReplayConfig(env: Record<string, string | undefined>): ReplayConfig {
  return {
    tableName: requiredString(env, 'TABLE_NAME'),
    eventBusName: requiredString(env, 'EVENT_BUS_NAME'),
    // The same default as the consumer, so a replayed event has the live event's source.
    eventSource: optionalString(env, 'EVENT_SOURCE') ?? DEFAULT_EVENT_SOURCE,
    rawOnBus: rawOnBusFromEnv(env),
  };
}
