/**
 * A local Amazon EventBridge endpoint on 127.0.0.1 for the local pipeline and the integration tests. The
 * real SDK client reaches it through its endpoint setting (`endpoint`, or AWS_ENDPOINT_URL_EVENTBRIDGE);
 * signatures are not checked, so any credentials do.
 *
 * Implemented: PutEvents (validation, limits and per-entry errors as EventBridge documents them),
 * CreateEventBus, DescribeEventBus, ListEventBuses, PutRule, DescribeRule, ListRules, DeleteRule. Matching
 * uses the project's event-pattern matcher. Targets are not delivered here: `onEvent` / `onMatch` hand
 * every accepted event and every match to the caller, which delivers and logs them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_ACCOUNT_ID, LOCAL_HOST, LOCAL_REGION } from './aws-servers.ts';
import {
  AwsJsonError,
  operationOf,
  parseInput,
  readBody,
  sendError,
  sendResult,
} from './event-bus-protocol.ts';
import type { EventEnvelope } from './event-bus-put-events.ts';
import type { EventRule, EventRuleDefinition } from './event-bus-rules.ts';
import {
  type EventBusFaults,
  type EventListener,
  LocalEventBridge,
  type MatchListener,
  type RuleMatch,
} from './event-bus-service.ts';

/**
 * Bodies are capped well above what a valid PutEvents can need (256 KB of entries, even fully
 * JSON-escaped), so a runaway client cannot fill memory.
 */
// What callers of the server need, so they import from one module.
export { type EventEnvelope, envelopeJson, type PutEventsEntry } from './event-bus-put-events.ts';
export { type EventRule, type EventRuleDefinition, InvalidRuleError } from './event-bus-rules.ts';
export type { EventBusFaults, EventListener, MatchListener, RuleMatch } from './event-bus-service.ts';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_WAIT_MS = 5_000;

export interface EventBusServerOptions<TTarget = unknown> {
  /** Default 0: the OS picks a free port. */
  port?: number;
  /** Default us-east-1. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  /** Buses to create at start besides `default`. */
  buses?: readonly string[];
  /** Rules to install at start; a rule without `eventBusName` goes on `default`. */
  rules?: readonly EventRuleDefinition<TTarget>[];
  /** Time of entries that carry none. Default: the system clock. */
  clock?: () => Date;
  /** Keep only about this many of the latest events and matches in `events`/`matches`. Default: all. */
  maxRecorded?: number;
  /**
   * Receives what listeners throw or reject with, and unexpected errors while serving a request (which
   * are answered InternalException). Default: console.error.
   */
  onError?: (error: unknown) => void;
}

export interface EventBusServer<TTarget = unknown> {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly url: string;
  readonly region: string;
  readonly accountId: string;
  /** Every accepted event, in order of acceptance. */
  readonly events: readonly EventEnvelope[];
  /** Every (rule, event) match, in order. */
  readonly matches: readonly RuleMatch<TTarget>[];
  /**
   * Installs a rule, replacing one of the same name on the same bus (as PutRule does).
   * @throws InvalidRuleError naming the rule when its name, pattern or bus is wrong.
   */
  addRule(rule: EventRuleDefinition<TTarget>): EventRule<TTarget>;
  /** Replaces the injected faults; `setFaults({})` clears them. */
  setFaults(faults: EventBusFaults): void;
  /** Calls `listener` for each accepted event before PutEvents answers; returns an unsubscribe function. */
  onEvent(listener: EventListener): () => void;
  /** Calls `listener` for each rule match before PutEvents answers; returns an unsubscribe function. */
  onMatch(listener: MatchListener<TTarget>): () => void;
  /** The first recorded or future event satisfying `predicate`; rejects after `timeoutMs` (default 5 s). */
  waitForEvent(predicate: (event: EventEnvelope) => boolean, timeoutMs?: number): Promise<EventEnvelope>;
  /** The first recorded or future match satisfying `predicate`; rejects after `timeoutMs` (default 5 s). */
  waitForMatch(
    predicate: (match: RuleMatch<TTarget>) => boolean,
    timeoutMs?: number,
  ): Promise<RuleMatch<TTarget>>;
  /** Forgets recorded events and matches; rules, buses, listeners and faults stay. */
  clear(): void;
  /** Stops listening, ends open connections and rejects pending waits. */
  close(): Promise<void>;
}

/**
 * Starts the endpoint on 127.0.0.1.
 * @throws InvalidRuleError before listening when a rule in `options.rules` is invalid.
 */
export async function startEventBusServer<TTarget = unknown>(
  options: EventBusServerOptions<TTarget> = {},
): Promise<EventBusServer<TTarget>> {
  const onError = options.onError ?? ((error) => console.error('local event bus:', error));
  const bridge = new LocalEventBridge<TTarget>({
    region: options.region ?? LOCAL_REGION,
    accountId: options.accountId ?? LOCAL_ACCOUNT_ID,
    ...(options.buses === undefined ? {} : { buses: options.buses }),
    ...(options.rules === undefined ? {} : { rules: options.rules }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxRecorded === undefined ? {} : { maxRecorded: options.maxRecorded }),
    onListenerError: onError,
  });

  const server = createServer((request, response) => {
    void serve(bridge, request, response, onError);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const waits = new Set<(error: Error) => void>();
  function waitFor<T>(
    recorded: readonly T[],
    subscribe: (listener: (value: T) => void) => () => void,
    predicate: (value: T) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const found = recorded.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        unsubscribe();
        waits.delete(fail);
      };
      const fail = (error: Error): void => {
        settle();
        reject(error);
      };
      const unsubscribe = subscribe((value) => {
        if (!predicate(value)) return;
        settle();
        resolve(value);
      });
      const timer = setTimeout(() => fail(new Error(`No ${what} matched within ${timeoutMs} ms`)), timeoutMs);
      waits.add(fail);
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${LOCAL_HOST}:${port}`,
    region: bridge.region,
    accountId: bridge.accountId,
    events: bridge.events,
    matches: bridge.matches,
    addRule: (rule) => bridge.addRule(rule),
    setFaults: (faults) => bridge.setFaults(faults),
    onEvent: (listener) => bridge.onEvent(listener),
    onMatch: (listener) => bridge.onMatch(listener),
    waitForEvent: (predicate, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(bridge.events, (listener) => bridge.onEvent(listener), predicate, timeoutMs, 'event'),
    waitForMatch: (predicate, timeoutMs = DEFAULT_WAIT_MS) =>
      waitFor(bridge.matches, (listener) => bridge.onMatch(listener), predicate, timeoutMs, 'rule match'),
    clear: () => bridge.clear(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const fail of [...waits]) fail(new Error('The local event bus was closed'));
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close() would wait for them to time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function serve<TTarget>(
  bridge: LocalEventBridge<TTarget>,
  request: IncomingMessage,
  response: ServerResponse,
  onError: (error: unknown) => void,
): Promise<void> {
  const requestId = randomUUID();
  try {
    if (request.method !== 'POST' || request.url !== '/') {
      request.resume();
      throw new AwsJsonError('UnknownOperationException', 'EventBridge requests are POST /', 404);
    }
    const body = await readBody(request, MAX_BODY_BYTES);
    const operation = operationOf(request);
    const fault = bridge.takeRequestFault();
    if (fault !== undefined) throw fault;
    sendResult(response, bridge.handle(operation, parseInput(body)), requestId);
  } catch (error) {
    if (error instanceof AwsJsonError) {
      sendError(response, error, requestId);
      return;
    }
    onError(error);
    // The cause stays in onError: a client gets a generic message, never our internals.
    sendError(response, new AwsJsonError('InternalException', 'Internal error', 500), requestId);
  }
}
