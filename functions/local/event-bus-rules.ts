/**
 * Rules of the local event bus, in the shape of the project's rule files (`events/rules/*.json`):
 * `{ name, description?, eventPattern, targets? }`, plus the bus they belong to.
 */
import { type EventPattern, validateEventPattern } from '../shared/event-pattern-matcher.ts';

export const DEFAULT_BUS = 'default';
/** EventBridge's constraint on rule names. */
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

export type RuleState = 'ENABLED' | 'DISABLED';

export interface EventRuleDefinition<TTarget = unknown> {
  name: string;
  description?: string;
  eventPattern: EventPattern;
  /** Carried through to matches untouched: delivering to targets is the caller's job. */
  targets?: readonly TTarget[];
  /** Default `default`. */
  eventBusName?: string;
  /** Default ENABLED; a DISABLED rule matches nothing. */
  state?: RuleState;
}

export interface EventRule<TTarget = unknown> {
  name: string;
  description?: string;
  eventPattern: EventPattern;
  targets: readonly TTarget[];
  eventBusName: string;
  state: RuleState;
}

/** A rule that cannot be installed; `problems` lists what is wrong with it. */
export class InvalidRuleError extends Error {
  override readonly name = 'InvalidRuleError';
  readonly ruleName: string;
  readonly problems: readonly string[];

  constructor(ruleName: string, problems: readonly string[]) {
    super(`Rule "${ruleName}" is invalid: ${problems.join('; ')}`);
    this.ruleName = ruleName;
    this.problems = problems;
  }
}

/** Checks a definition (name, state, event pattern) and fills in the defaults. */
export function compileRule<TTarget>(definition: EventRuleDefinition<TTarget>): EventRule<TTarget> {
  const problems: string[] = [];
  if (!RULE_NAME.test(definition.name)) {
    problems.push('name must be 1 to 64 characters from A-Z, a-z, 0-9, ".", "-" and "_"');
  }
  const state = definition.state ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED') problems.push('state must be ENABLED or DISABLED');
  problems.push(...validateEventPattern(definition.eventPattern).map((p) => `eventPattern ${p}`));
  if (problems.length > 0) throw new InvalidRuleError(definition.name, problems);
  return {
    name: definition.name,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    eventPattern: definition.eventPattern,
    targets: definition.targets ?? [],
    eventBusName: definition.eventBusName ?? DEFAULT_BUS,
    state,
  };
}

export function eventBusArn(region: string, account: string, bus: string): string {
  return `arn:aws:events:${region}:${account}:event-bus/${bus}`;
}

/** Rules on the default bus have `rule/<name>` ARNs; rules on other buses `rule/<bus>/<name>`. */
export function ruleArn(
  region: string,
  account: string,
  rule: { name: string; eventBusName: string },
): string {
  const path = rule.eventBusName === DEFAULT_BUS ? rule.name : `${rule.eventBusName}/${rule.name}`;
  return `arn:aws:events:${region}:${account}:rule/${path}`;
}

/** EventBridge accepts a bus name or its ARN wherever it takes `EventBusName`. */
export function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return DEFAULT_BUS;
  const arn = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return arn?.[1] ?? nameOrArn;
}
