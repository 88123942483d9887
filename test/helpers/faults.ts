/**
 * Fault injection for AWS SDK clients: a middleware that makes a share of the calls fail the ways
 * AWS calls fail: throttling, a 5xx, a timeout before the request reached the server, and a timeout
 * after the server did the work (the response is lost, the most dangerous kind).
 */
import type { MiddlewareStack } from '@smithy/types';

export type FaultKind = 'throttling' | 'server-error' | 'timeout-before' | 'timeout-after';
const KINDS: FaultKind[] = ['throttling', 'server-error', 'timeout-before', 'timeout-after'];

/** A small seeded PRNG (mulberry32), so a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ALL_FAULT_KINDS: readonly FaultKind[] = KINDS;

export interface FaultLog {
  /** Injected faults, by `<service>.<operation>:<kind>`. */
  counts: Map<string, number>;
  /** Calls seen, by `<service>.<operation>`. */
  calls: Map<string, number>;
}

function sdkError(kind: FaultKind, operation: string): Error {
  switch (kind) {
    case 'throttling':
      return Object.assign(new Error(`Rate exceeded (injected) in ${operation}`), {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        $retryable: { throttling: true },
      });
    case 'server-error':
      return Object.assign(new Error(`Internal error (injected) in ${operation}`), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    default:
      return Object.assign(new Error(`Request timed out (injected, ${kind}) in ${operation}`), {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
        $metadata: {},
      });
  }
}

/**
 * Adds the fault middleware to a client's stack. `rate` of the calls fail, the kind chosen uniformly. It sits at the deserialize step, inside the SDK's retry loop, so
 * with `maxAttempts: 1` every fault reaches the application code.
 */
export function injectFaults(
  client: { middlewareStack: unknown },
  options: {
    service: string;
    rate: number;
    random: () => number;
    log: FaultLog;
    /** The kinds to choose from; default all four. */
    kinds?: readonly FaultKind[];
    /** Called for each injected fault with the command's input (e.g. to count PutEvents entries). */
    onFault?: (operation: string, kind: FaultKind, input: unknown) => void;
  },
): void {
  // Each client's stack is typed with its own input and output unions; the middleware handles any.
  (client.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      const operation = `${options.service}.${String((context as { commandName?: string }).commandName ?? '?').replace(/Command$/, '')}`;
      options.log.calls.set(operation, (options.log.calls.get(operation) ?? 0) + 1);
      if (options.random() >= options.rate) return next(args);
      const kinds = options.kinds ?? KINDS;
      const kind = kinds[Math.floor(options.random() * kinds.length)] as FaultKind;
      options.onFault?.(operation, kind, args.input);
      const key = `${operation}:${kind}`;
      options.log.counts.set(key, (options.log.counts.get(key) ?? 0) + 1);
      if (kind === 'timeout-after') {
        await next(args);
        throw sdkError(kind, operation);
      }
      throw sdkError(kind, operation);
    },
    { step: 'deserialize', name: 'faultInjection', priority: 'high' },
  );
}
