/**
 * The EventBridge operations of the local event bus over in-memory state, free of HTTP: buses, rules,
 * PutEvents with rule matching, the record of accepted events and matches, listeners, and injected
 * faults. `event-bus-server.ts` puts it behind the AWS JSON protocol.
 */

import { randomUUID } from 'node:crypto';
import {
  type EventPattern,
  matchesEventPattern,
  validateEventPattern,
} from '../shared/event-pattern-matcher.ts';
import { parseExactJson } from '../shared/rules/exact-json.ts';
import {
  AwsJsonError,
  type JsonObject,
  optionalNumber,
  optionalString,
  requiredString,
  validationError,
} from './event-bus-protocol.ts';
import {
  type EntryFailure,
  type EntryResult,
  type EventEnvelope,
  type PutEventsEntry,
  readPutEventsEntries,
  toEnvelope,
  validateEntry,
} from './event-bus-put-events.ts';
import {
  busNameOf,
  compileRule,
  DEFAULT_BUS,
  type EventRule,
  type EventRuleDefinition,
  eventBusArn,
  InvalidRuleError,
  ruleArn,
} from './event-bus-rules.ts';

export interface RuleMatch<TTarget = unknown> {
  rule: string;
  eventBusName: string;
  /** The matched rule's targets, for the caller to deliver to. */
  targets: readonly TTarget[];
  event: EventEnvelope;
}

/** The two per-entry error codes EventBridge documents as retryable. */
export type RetryableEntryErrorCode = 'InternalFailure' | 'ThrottlingException';

/** Failures to inject, for testing how callers cope. Each `setFaults` call replaces the previous one. */
export interface EventBusFaults {
  /** The next N requests (any operation) answer ThrottlingException, HTTP 400. */
  throttleRequests?: number;
  /** The next N requests (any operation, after any throttled ones) answer InternalException, HTTP 500. */
  internalErrorRequests?: number;
  /** Chance, 0 to 1, that each otherwise valid PutEvents entry fails. */
  failEntryRate?: number;
  /** Entries for which this returns true fail; `index` is the entry's position in its request. */
  failEntry?: (entry: PutEventsEntry, index: number) => boolean;
  /** The per-entry error code of injected failures; default InternalFailure. */
  entryErrorCode?: RetryableEntryErrorCode;
  /** Source of randomness for `failEntryRate`; pass a seeded one for repeatable runs. Default Math.random. */
  random?: () => number;
}

export type EventListener = (event: EventEnvelope, eventBusName: string) => void | Promise<void>;
export type MatchListener<TTarget> = (match: RuleMatch<TTarget>) => void | Promise<void>;

export interface LocalEventBridgeOptions<TTarget> {
  region: string;
  accountId: string;
  /** Buses to create besides `default`. */
  buses?: readonly string[];
  rules?: readonly EventRuleDefinition<TTarget>[];
  /** Time of entries that carry none. Default: the system clock. */
  clock?: () => Date;
  /** Receives what listeners throw or reject with. Default: console.error. */
  onListenerError?: (error: unknown) => void;
  /**
   * Keep only about this many of the latest events and matches in memory (the local pipeline's record
   * is bus.jsonl; an unbounded array grows for as long as it runs). Default: keep all (tests).
   */
  maxRecorded?: number;
}

interface EventBus<TTarget> {
  name: string;
  description?: string;
  createdAt: Date;
  rules: Map<string, EventRule<TTarget>>;
}

/** EventBridge's constraint on event bus names. */
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;
const STATES = new Set(['ENABLED', 'DISABLED']);

export class LocalEventBridge<TTarget = unknown> {
  /** Every accepted event, in order. */
  readonly events: EventEnvelope[] = [];
  /** Every (rule, event) match, in order. */
  readonly matches: RuleMatch<TTarget>[] = [];

  readonly region: string;
  readonly accountId: string;
  private readonly clock: () => Date;
  private readonly onListenerError: (error: unknown) => void;
  private readonly buses = new Map<string, EventBus<TTarget>>();
  private readonly eventListeners = new Set<EventListener>();
  private readonly matchListeners = new Set<MatchListener<TTarget>>();
  private faults: EventBusFaults = {};
  private throttleRequests = 0;
  private internalErrorRequests = 0;
  private readonly maxRecorded: number | undefined;

  constructor(options: LocalEventBridgeOptions<TTarget>) {
    this.maxRecorded = options.maxRecorded;
    this.region = options.region;
    this.accountId = options.accountId;
    this.clock = options.clock ?? (() => new Date());
    this.onListenerError =
      options.onListenerError ?? ((error) => console.error('local event bus: a listener failed', error));
    this.createBus(DEFAULT_BUS);
    for (const name of options.buses ?? []) {
      if (!this.buses.has(name)) this.createBus(name);
    }
    for (const rule of options.rules ?? []) this.addRule(rule);
  }

  /**
   * Installs a rule, replacing one of the same name on the same bus (as PutRule does).
   * @throws InvalidRuleError naming the rule when its name, state, pattern or bus is wrong.
   */
  addRule(definition: EventRuleDefinition<TTarget>): EventRule<TTarget> {
    const rule = compileRule(definition);
    const bus = this.buses.get(rule.eventBusName);
    if (bus === undefined) {
      throw new InvalidRuleError(rule.name, [`event bus "${rule.eventBusName}" does not exist`]);
    }
    bus.rules.set(rule.name, rule);
    return rule;
  }

  setFaults(faults: EventBusFaults): void {
    const rate = faults.failEntryRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`failEntryRate must be from 0 to 1, got ${rate}`);
    this.faults = faults;
    this.throttleRequests = faults.throttleRequests ?? 0;
    this.internalErrorRequests = faults.internalErrorRequests ?? 0;
  }

  /** The whole-request fault this request gets, if any; counts it down. */
  takeRequestFault(): AwsJsonError | undefined {
    if (this.throttleRequests > 0) {
      this.throttleRequests--;
      return new AwsJsonError('ThrottlingException', 'Rate exceeded', 400);
    }
    if (this.internalErrorRequests > 0) {
      this.internalErrorRequests--;
      return new AwsJsonError('InternalException', 'Internal failure (injected by the local event bus)', 500);
    }
    return undefined;
  }

  /** Calls `listener` for each accepted event; returns a function that unsubscribes it. */
  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Calls `listener` for each rule an accepted event matches; returns a function that unsubscribes it. */
  onMatch(listener: MatchListener<TTarget>): () => void {
    this.matchListeners.add(listener);
    return () => this.matchListeners.delete(listener);
  }

  /** Drops the oldest records past `maxRecorded`, a tenth at a time so a push stays O(1) on average. */
  private trim(records: unknown[]): void {
    const max = this.maxRecorded;
    if (max !== undefined && records.length > max + Math.ceil(max / 10))
      records.splice(0, records.length - max);
  }

  /** Forgets recorded events and matches (rules, buses, listeners and faults stay). */
  clear(): void {
    this.events.length = 0;
    this.matches.length = 0;
  }

  /** Runs one operation. @throws AwsJsonError for answers other than success. */
  handle(operation: string, input: JsonObject): JsonObject {
    switch (operation) {
      case 'PutEvents':
        return this.putEvents(input);
      case 'CreateEventBus':
        return this.createEventBus(input);
      case 'DescribeEventBus':
        return this.describeEventBus(input);
      case 'ListEventBuses':
        return this.listEventBuses(input);
      case 'PutRule':
        return this.putRule(input);
      case 'DescribeRule':
        return this.describeRule(input);
      case 'ListRules':
        return this.listRules(input);
      case 'DeleteRule':
        return this.deleteRule(input);
      default:
        throw new AwsJsonError(
          'UnknownOperationException',
          `The local event bus does not implement ${operation}`,
        );
    }
  }

  // --- PutEvents -----------------------------------------------------------------------------------------

  private putEvents(input: JsonObject): JsonObject {
    const entries = readPutEventsEntries(input);
    const now = this.clock();
    const results = entries.map((entry, index) => this.putEntry(entry, index, now));
    return {
      FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
      Entries: results,
    };
  }

  private putEntry(entry: PutEventsEntry, index: number, now: Date): EntryResult {
    const valid = validateEntry(entry, now);
    if ('ErrorCode' in valid) return valid;
    const busName = busNameOf(entry.EventBusName);
    const bus = this.buses.get(busName);
    // Decision: EventBridge itself accepts events for a bus that does not exist and drops them silently
    // (aws/aws-cli#9186). Locally that hides a misspelt bus name, so the entry fails instead, with the
    // error code EventBridge's own DescribeEventBus gives for a missing bus.
    if (bus === undefined) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
    }
    const injected = this.injectedEntryFailure(entry, index);
    if (injected !== undefined) return injected;

    const event = toEnvelope(valid, { id: randomUUID(), account: this.accountId, region: this.region });
    this.events.push(event);
    this.trim(this.events);
    this.emit(this.eventListeners, (listener) => listener(event, bus.name));
    // Matched on the detail's numbers as sent, as EventBridge does (a 22-digit id is not rounded to a
    // double first); the envelope the targets get keeps the same digits (envelopeJson).
    let exactEvent: unknown;
    const matchable = () => {
      exactEvent ??= { ...event, detail: exactDetailOf(valid.detailJson, event.detail) };
      return exactEvent;
    };
    for (const rule of bus.rules.values()) {
      if (rule.state !== 'ENABLED' || !matchesEventPattern(rule.eventPattern, matchable())) continue;
      const match: RuleMatch<TTarget> = {
        rule: rule.name,
        eventBusName: bus.name,
        targets: rule.targets,
        event,
      };
      this.matches.push(match);
      this.trim(this.matches);
      this.emit(this.matchListeners, (listener) => listener(match));
    }
    return { EventId: event.id };
  }

  private injectedEntryFailure(entry: PutEventsEntry, index: number): EntryFailure | undefined {
    const {
      failEntry,
      failEntryRate = 0,
      random = Math.random,
      entryErrorCode = 'InternalFailure',
    } = this.faults;
    // One draw per valid entry, and only when a rate is set, so a seeded `random` replays exactly.
    const byRate = failEntryRate > 0 && random() < failEntryRate;
    if (!byRate && failEntry?.(entry, index) !== true) return undefined;
    return entryErrorCode === 'ThrottlingException'
      ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded (injected by the local event bus)' }
      : { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure (injected by the local event bus)' };
  }

  /**
   * Listeners run before PutEvents answers, so a caller sees its events recorded once the call returns;
   * what they throw or reject with goes to onListenerError and never fails the request, as target
   * delivery never fails PutEvents in EventBridge.
   */
  private emit<L>(listeners: ReadonlySet<L>, call: (listener: L) => void | Promise<void>): void {
    for (const listener of listeners) {
      try {
        const result = call(listener);
        if (result instanceof Promise) result.catch(this.onListenerError);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  // --- event buses ---------------------------------------------------------------------------------------

  private createBus(name: string, description?: string): EventBus<TTarget> {
    if (!BUS_NAME.test(name)) {
      throw validationError(`Event bus name ${JSON.stringify(name)} must match [/\\.\\-_A-Za-z0-9]{1,256}`);
    }
    const bus: EventBus<TTarget> = {
      name,
      ...(description === undefined ? {} : { description }),
      createdAt: this.clock(),
      rules: new Map(),
    };
    this.buses.set(name, bus);
    return bus;
  }

  private busOrThrow(nameOrArn: string | undefined): EventBus<TTarget> {
    const name = busNameOf(nameOrArn);
    const bus = this.buses.get(name);
    if (bus === undefined) {
      throw new AwsJsonError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    }
    return bus;
  }

  private describeBus(bus: EventBus<TTarget>): JsonObject {
    const seconds = bus.createdAt.getTime() / 1000;
    return {
      Name: bus.name,
      Arn: eventBusArn(this.region, this.accountId, bus.name),
      ...(bus.description === undefined ? {} : { Description: bus.description }),
      CreationTime: seconds,
      LastModifiedTime: seconds,
    };
  }

  private createEventBus(input: JsonObject): JsonObject {
    const name = requiredString(input, 'Name');
    if (this.buses.has(name)) {
      throw new AwsJsonError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    }
    this.createBus(name, optionalString(input, 'Description'));
    return { EventBusArn: eventBusArn(this.region, this.accountId, name) };
  }

  private describeEventBus(input: JsonObject): JsonObject {
    return this.describeBus(this.busOrThrow(optionalString(input, 'Name')));
  }

  private listEventBuses(input: JsonObject): JsonObject {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const buses = [...this.buses.values()].filter((bus) => bus.name.startsWith(prefix));
    const { page, NextToken } = this.page(buses, input);
    return { EventBuses: page.map((bus) => this.describeBus(bus)), ...(NextToken ? { NextToken } : {}) };
  }

  // --- rules (for clients that manage rules through the API; most rules are given to the server) --------

  private putRule(input: JsonObject): JsonObject {
    const name = requiredString(input, 'Name');
    const bus = this.busOrThrow(optionalString(input, 'EventBusName'));
    if (optionalString(input, 'ScheduleExpression') !== undefined) {
      throw validationError('The local event bus does not run scheduled rules (ScheduleExpression).');
    }
    const eventPattern = parseEventPattern(optionalString(input, 'EventPattern'));
    const state = optionalString(input, 'State') ?? 'ENABLED';
    if (!STATES.has(state)) throw validationError(`State ${state} is not supported by the local event bus.`);
    const description = optionalString(input, 'Description');
    try {
      const rule = this.addRule({
        name,
        ...(description === undefined ? {} : { description }),
        eventPattern,
        eventBusName: bus.name,
        state: state as EventRule['state'],
        // Updating a rule keeps its targets, as PutRule does.
        targets: bus.rules.get(name)?.targets ?? [],
      });
      return { RuleArn: ruleArn(this.region, this.accountId, rule) };
    } catch (error) {
      // The pattern is already checked, so what is left is the name.
      if (error instanceof InvalidRuleError) throw validationError(error.message);
      throw error;
    }
  }

  private describeRuleOf(rule: EventRule<TTarget>): JsonObject {
    return {
      Name: rule.name,
      Arn: ruleArn(this.region, this.accountId, rule),
      EventPattern: JSON.stringify(rule.eventPattern),
      State: rule.state,
      ...(rule.description === undefined ? {} : { Description: rule.description }),
      EventBusName: rule.eventBusName,
      CreatedBy: this.accountId,
    };
  }

  private describeRule(input: JsonObject): JsonObject {
    const name = requiredString(input, 'Name');
    const bus = this.busOrThrow(optionalString(input, 'EventBusName'));
    const rule = bus.rules.get(name);
    if (rule === undefined) {
      throw new AwsJsonError(
        'ResourceNotFoundException',
        `Rule ${name} does not exist on EventBus ${bus.name}.`,
      );
    }
    return this.describeRuleOf(rule);
  }

  private listRules(input: JsonObject): JsonObject {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const bus = this.busOrThrow(optionalString(input, 'EventBusName'));
    const rules = [...bus.rules.values()].filter((rule) => rule.name.startsWith(prefix));
    const { page, NextToken } = this.page(rules, input);
    return { Rules: page.map((rule) => this.describeRuleOf(rule)), ...(NextToken ? { NextToken } : {}) };
  }

  private deleteRule(input: JsonObject): JsonObject {
    const name = requiredString(input, 'Name');
    // Deleting a rule that does not exist succeeds, as in EventBridge.
    this.busOrThrow(optionalString(input, 'EventBusName')).rules.delete(name);
    return {};
  }

  // --- pagination: NextToken is the offset of the next item ---------------------------------------------

  private page<T>(items: readonly T[], input: JsonObject): { page: T[]; NextToken?: string } {
    const limit = optionalNumber(input, 'Limit') ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw validationError('Limit must be from 1 to 100');
    const token = optionalString(input, 'NextToken');
    const start = token === undefined ? 0 : Number(token);
    if (!Number.isInteger(start) || start < 0) throw validationError('NextToken is not valid');
    const end = start + limit;
    return { page: items.slice(start, end), ...(end < items.length ? { NextToken: String(end) } : {}) };
  }
}

/** PutRule's EventPattern string, parsed and checked: a bad one is InvalidEventPatternException. */
function parseEventPattern(text: string | undefined): EventPattern {
  if (text === undefined) {
    throw validationError('Parameter(s) EventPattern or ScheduleExpression must be specified.');
  }
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch (error) {
    throw new AwsJsonError(
      'InvalidEventPatternException',
      `Event pattern is not valid. Reason: ${(error as Error).message}`,
    );
  }
  const problems = validateEventPattern(pattern);
  if (problems.length > 0) {
    throw new AwsJsonError(
      'InvalidEventPatternException',
      `Event pattern is not valid. Reason: ${problems.join('; ')}`,
    );
  }
  return pattern as EventPattern;
}

/** The detail with lossless numbers for matching; as parsed when lossless-json cannot read it. */
function exactDetailOf(detailJson: string, parsed: unknown): unknown {
  try {
    return parseExactJson(detailJson);
  } catch {
    return parsed;
  }
}
