/**
 * Event patterns on the canonical payment event, for subscriptions: typed helpers for the filters most
 * subscribers need, and the replay clause (`live`, `replays`, `both`, from
 * functions/shared/rules/subscription-pattern.ts) merged into any pattern, a hand-written one included.
 * Pure functions: the construct, the stack's audited rules and the tests build the same patterns, and the
 * tests check them with the project's own EventBridge matcher.
 */
import { DEFAULT_EVENT_SOURCE } from '../functions/shared/canonical/constants.ts';
import {
  compileEventPattern,
  type EventPattern,
  type JsonValue,
  validateEventPattern,
} from '../functions/shared/event-pattern-matcher.ts';
import { type DeliveryMode, replayClause } from '../functions/shared/rules/subscription-pattern.ts';
import { PaymentEventPatternError } from './errors.ts';

type JsonObject = { [key: string]: JsonValue };

/**
 * A range on `detail.amount.number`, the amount in the currency's main unit (129.9 for 129.90 EUR). Give a
 * lower bound, an upper bound, or one of each. EventBridge compares numbers from -5.0e9 to 5.0e9, to six
 * decimal places; amounts in different currencies are not comparable, so combine a range with
 * `currencies`.
 */
export interface AmountRange {
  /** More than this (`>`). */
  readonly above?: number;
  /** This or more (`>=`). */
  readonly atLeast?: number;
  /** Less than this (`<`). */
  readonly below?: number;
  /** This or less (`<=`). */
  readonly atMost?: number;
}

/** The common filters on the canonical payment event; every one given must hold. */
export interface PaymentEventFilter {
  /** `source` of the events: the pipeline's `eventSource` setting. Default `okepay`. */
  readonly source?: string;
  /** `detail-type` values, the okePay event names, e.g. `['payment.succeeded', 'payment.refunded']`. */
  readonly eventTypes?: readonly string[];
  /** ISO 4217 codes of `detail.currency`, e.g. `['EUR']`. */
  readonly currencies?: readonly string[];
  /** A range on `detail.amount.number`. */
  readonly amount?: AmountRange;
  /** `detail.orderRef` starts with this (or with one of these), e.g. `'SHOP-B-'`. */
  readonly orderRefPrefix?: string | readonly string[];
  /**
   * More conditions on `detail`, written as an EventBridge pattern (e.g. `{ status: ['Reversed'] }`); it
   * must not name a field the options above set. `detail.replay` is the delivery mode's (`deliver`).
   */
  readonly detail?: { readonly [key: string]: JsonValue };
}

/** EventBridge's numeric domain ("Numeric matching", EventBridge user guide). */
const NUMERIC_LIMIT = 5e9;
const CURRENCY = { pattern: /^[A-Z]{3}$/, what: 'an ISO 4217 code (three capital letters)' };

/** Which option of the filter sets each `detail` key, for the "write it in one place" message. */
const DETAIL_KEYS_SET_BY: Record<string, string> = {
  currency: 'currencies',
  amount: 'amount',
  orderRef: 'orderRefPrefix',
};

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The values, checked: at least one, each a non-empty string that `check` (when given) accepts. */
function nonEmptyStrings(
  option: string,
  values: readonly string[],
  problems: string[],
  check?: { pattern: RegExp; what: string },
): string[] {
  if (values.length === 0) problems.push(`${option} is empty: leave it out to match every value`);
  for (const value of values) {
    if (typeof value !== 'string' || value.length === 0 || (check && !check.pattern.test(value))) {
      problems.push(
        `${option} has ${JSON.stringify(value)}, which is not ${check?.what ?? 'a non-empty string'}`,
      );
    }
  }
  return [...values];
}

/** `[">", 1000, "<=", 5000]`: the arguments of an EventBridge `numeric` match. */
function numericRange(range: AmountRange, problems: string[]): JsonValue[] {
  const bound = (pairs: readonly (readonly [keyof AmountRange, string])[]) => {
    const given = pairs.filter(([key]) => range[key] !== undefined);
    if (given.length > 1)
      problems.push(`amount gives both ${given.map(([key]) => key).join(' and ')}: choose one`);
    const [key, operator] = given[0] ?? [];
    if (key === undefined || operator === undefined) return undefined;
    const value = range[key] as number;
    if (!Number.isFinite(value) || Math.abs(value) > NUMERIC_LIMIT) {
      problems.push(
        `amount.${key} must be a number from -5e9 to 5e9 (what EventBridge compares), got ${value}`,
      );
    }
    return { key, operator, value };
  };
  const lower = bound([
    ['above', '>'],
    ['atLeast', '>='],
  ]);
  const upper = bound([
    ['below', '<'],
    ['atMost', '<='],
  ]);
  if (!lower && !upper) problems.push('amount needs a bound: above, atLeast, below or atMost');
  if (lower && upper) {
    const empty =
      lower.value > upper.value ||
      (lower.value === upper.value && (lower.operator === '>' || upper.operator === '<'));
    if (empty)
      problems.push(`amount ${lower.key} ${lower.value} and ${upper.key} ${upper.value} match no amount`);
  }
  return [lower, upper].flatMap((b) => (b ? [b.operator, b.value] : []));
}

/** The pattern, once it has no problem left; EventBridge's rules are only checked on a pattern that has none. */
function checked(pattern: EventPattern, problems: string[]): EventPattern {
  // Our own problems come first: the validator would only repeat them in its words (an empty list...).
  if (problems.length === 0) {
    problems.push(...validateEventPattern(pattern).map((problem) => `the pattern: ${problem}`));
  }
  if (problems.length > 0) throw new PaymentEventPatternError(problems);
  return pattern;
}

/**
 * The pattern selecting payment events by the filter's options, e.g.
 * `paymentEventPattern({ eventTypes: ['payment.succeeded'], currencies: ['EUR'], amount: { above: 1000 } })`
 * is `{"source":["okepay"],"detail-type":["payment.succeeded"],"detail":{"currency":["EUR"],"amount":
 * {"number":[{"numeric":[">",1000]}]}}}`. Without options: every payment event. Throws
 * {@link PaymentEventPatternError} listing every problem.
 */
export function paymentEventPattern(filter: PaymentEventFilter = {}): EventPattern {
  const problems: string[] = [];
  const pattern: EventPattern = { source: [filter.source ?? DEFAULT_EVENT_SOURCE] };
  if (filter.eventTypes !== undefined) {
    pattern['detail-type'] = nonEmptyStrings('eventTypes', filter.eventTypes, problems);
  }
  const detail: JsonObject = {};
  if (filter.currencies !== undefined) {
    detail.currency = nonEmptyStrings('currencies', filter.currencies, problems, CURRENCY);
  }
  if (filter.amount !== undefined) {
    detail.amount = { number: [{ numeric: numericRange(filter.amount, problems) }] };
  }
  if (filter.orderRefPrefix !== undefined) {
    const prefixes =
      typeof filter.orderRefPrefix === 'string' ? [filter.orderRefPrefix] : filter.orderRefPrefix;
    detail.orderRef = nonEmptyStrings('orderRefPrefix', prefixes, problems).map((prefix) => ({ prefix }));
  }
  for (const [key, value] of Object.entries(filter.detail ?? {})) {
    if (key in detail) {
      problems.push(
        `detail.${key} is also set by the ${DETAIL_KEYS_SET_BY[key]} option: write the condition in one place`,
      );
    } else {
      detail[key] = structuredClone(value);
    }
  }
  if (Object.keys(detail).length > 0) pattern.detail = detail;
  return checked(pattern, problems);
}

/** Every field path a pattern names, in any of its `$or` branches (e.g. `detail.replay.subscriber`). */
function fieldPaths(pattern: EventPattern): Set<string> {
  return new Set(compileEventPattern(pattern).branches.flatMap((branch) => branch.fields.map((f) => f.path)));
}

function mergeInto(target: JsonObject, source: JsonObject): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isObject(existing) && isObject(value)) mergeInto(existing, value);
    else target[key] = value;
  }
}

/**
 * The pattern plus the clause of the delivery mode: `live` takes events without `detail.replay`;
 * `replays` takes replays for every subscriber (no `detail.replay.subscriber`) and replays for `name`;
 * `both` takes either. The clause's `$or` goes into `detail`, or, when `detail` has a `$or` of its own,
 * to the top of the pattern (the two then hold together). The pattern must leave the fields the clause
 * sets to it: `detail.replay.subscriber` always, `detail.replay.replayId` for live and replays; a rule
 * file's `"replayId": [{"exists": true}]` (replays only) is fine with `both`.
 */
export function withReplayClause(pattern: EventPattern, name: string, deliver: DeliveryMode): EventPattern {
  const clause = replayClause(name, deliver);
  // Whom a replay is for is the subscription's name's business, whatever the mode.
  const reserved = [...fieldPaths({ detail: clause }), 'detail.replay.subscriber'];
  const conflicts = [...fieldPaths(pattern)].filter((path) =>
    reserved.some((own) => own === path || own.startsWith(`${path}.`)),
  );
  if (conflicts.length > 0) {
    throw new PaymentEventPatternError([
      `the pattern names ${conflicts.join(', ')}, which the subscription sets (its name, and deliver ` +
        `"${deliver}"): leave it out, and choose deliver live, replays or both`,
    ]);
  }
  const merged = structuredClone(pattern) as JsonObject;
  const detail: JsonObject = isObject(merged.detail) ? merged.detail : {};
  merged.detail = detail;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(clause)) {
    if (key !== '$or') mergeInto(detail, { [key]: value });
    else if (!('$or' in detail)) detail.$or = value;
    else if (!('$or' in merged) && Array.isArray(value))
      merged.$or = value.map((branch) => ({ detail: branch }));
    else problems.push('the pattern has a $or both at its top and in detail: fold one into the other');
  }
  return checked(merged, problems);
}
