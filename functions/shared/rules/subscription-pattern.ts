/**
 * The event pattern of one subscription: what it selects on the canonical event, plus the clause that
 * decides whether it takes live events, replays, or both, and which replays. A replay is for every
 * subscriber that takes replays, unless it names one (`detail.replay.subscriber`, set by
 * `okepay replay --subscriber NAME`): then only that subscriber's rule matches. Pure, so the CDK
 * construct, the local pipeline's rule files and the tests build the same pattern.
 */

import type { EventPattern, JsonValue } from '../event-pattern-matcher.ts';

export const DELIVERY_MODES = ['live', 'replays', 'both'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

export interface SubscriptionPatternInput {
  /** The subscription's name, as `--subscriber` gives it. */
  name: string;
  deliver: DeliveryMode;
  /** `source` of the pipeline's events (default `okepay`). */
  source?: string;
  detailTypes?: readonly string[];
  /** More conditions on `detail` (an EventBridge pattern); must not use `replay`, which is set here. */
  detail?: { [key: string]: JsonValue };
}

/**
 * - `live`: the event has no replay marker;
 * - `replays`: a replay for everyone (no `subscriber`), or for this subscriber;
 * - `both`: a live event (no `subscriber` either), a replay for everyone, or one for this subscriber.
 * Each `$or` branch names `replay` only inside the `$or`: EventBridge's engine and this project's
 * matcher disagree when a field appears both inside and outside one.
 */
export function replayClause(name: string, deliver: DeliveryMode): { [key: string]: JsonValue } {
  switch (deliver) {
    case 'live':
      return { replay: { replayId: [{ exists: false }] } };
    case 'replays':
      return {
        $or: [
          { replay: { replayId: [{ exists: true }], subscriber: [{ exists: false }] } },
          { replay: { subscriber: [name] } },
        ],
      };
    case 'both':
      return { $or: [{ replay: { subscriber: [{ exists: false }] } }, { replay: { subscriber: [name] } }] };
  }
}

export function subscriptionPattern(input: SubscriptionPatternInput): EventPattern {
  if (input.detail && 'replay' in input.detail) {
    throw new Error('detail.replay is set by the delivery mode (live, replays, both); leave it out');
  }
  const clause = replayClause(input.name, input.deliver);
  if (input.detail && '$or' in input.detail && '$or' in clause) {
    throw new Error('the detail pattern has its own $or; combine it with the delivery mode by hand');
  }
  return {
    source: [input.source ?? 'okepay'],
    ...(input.detailTypes?.length ? { 'detail-type': [...input.detailTypes] } : {}),
    detail: { ...(input.detail ?? {}), ...clause },
  };
}
