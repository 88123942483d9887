/**
 * Counting the AWS requests of an end-to-end run two ways:
 * - an SDK middleware on a client (the handlers' module-scope clients): every call with its operation,
 *   input and outcome;
 * - at the HTTP layer of the local servers (dynalite, local-aws-sqs, the local bus), by the
 *   `X-Amz-Target` header of each request received: this also sees the clients the local pipeline
 *   builds for itself, such as the queue poller's ReceiveMessage and DeleteMessageBatch, which stand in
 *   for Lambda's event source mapping. It patches http.Server for the whole process: bench use only.
 */
import { type IncomingMessage, Server, type ServerResponse } from 'node:http';

export interface SdkCall {
  service: string;
  operation: string;
  input: unknown;
  /** undefined when the call succeeded; else the error's name. */
  error?: string;
}

export interface MiddlewareStackLike<Args, Context, Result> {
  add(
    middleware: (next: (args: Args) => Promise<Result>, context: Context) => (args: Args) => Promise<Result>,
    options: { step: 'initialize'; name: string; override?: boolean },
  ): void;
}

/** Records each call of the client in `calls`, with `service` and the operation name. */
export function recordSdkCalls<
  Args extends { input: unknown },
  Context extends { commandName?: string },
  Result,
>(stack: MiddlewareStackLike<Args, Context, Result>, service: string, calls: SdkCall[]): void {
  stack.add(
    (next, context) => async (args) => {
      const call: SdkCall = {
        service,
        operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
        input: args.input,
      };
      calls.push(call);
      try {
        return await next(args);
      } catch (error) {
        call.error = error instanceof Error ? error.name : String(error);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchRequestCounter', override: true },
  );
}

const SERVICE_BY_TARGET_PREFIX: Record<string, string> = {
  DynamoDB_20120810: 'DynamoDB',
  AmazonSQS: 'SQS',
  AWSEvents: 'EventBridge',
};

export interface HttpCounts {
  /** `DynamoDB.PutItem` → requests received. */
  requests: Map<string, number>;
  /** ReceiveMessage answers that carried no message (idle long polls). */
  emptyReceives: number;
}

export function snapshot(counts: HttpCounts): HttpCounts {
  return { requests: new Map(counts.requests), emptyReceives: counts.emptyReceives };
}

export function difference(later: HttpCounts, earlier: HttpCounts): HttpCounts {
  const requests = new Map<string, number>();
  for (const [key, value] of later.requests) requests.set(key, value - (earlier.requests.get(key) ?? 0));
  return { requests, emptyReceives: later.emptyReceives - earlier.emptyReceives };
}

/** Starts counting the requests every node:http server of this process receives. */
export function countServerRequests(): HttpCounts {
  const counts: HttpCounts = { requests: new Map(), emptyReceives: 0 };
  const emit = Server.prototype.emit;
  Server.prototype.emit = function countingEmit(this: Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'request') {
      const request = args[0] as IncomingMessage;
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string') {
        const [prefix = '', operation = ''] = target.split('.');
        const key = `${SERVICE_BY_TARGET_PREFIX[prefix] ?? prefix}.${operation}`;
        // A long poll can span two snapshots: it is counted when it is answered, with its outcome.
        if (key === 'SQS.ReceiveMessage') watchReceive(args[1] as ServerResponse, counts);
        else counts.requests.set(key, (counts.requests.get(key) ?? 0) + 1);
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof Server.prototype.emit;
  return counts;
}

/** An empty ReceiveMessage answer is `{}` (JSON protocol): no "Messages" in the body. */
function watchReceive(response: ServerResponse, counts: HttpCounts): void {
  const end = response.end;
  response.end = function watchedEnd(this: ServerResponse, ...args: unknown[]) {
    const chunk = args[0];
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    counts.requests.set('SQS.ReceiveMessage', (counts.requests.get('SQS.ReceiveMessage') ?? 0) + 1);
    if (!text.includes('"Messages"')) counts.emptyReceives += 1;
    return (end as (...endArgs: unknown[]) => ServerResponse).apply(this, args);
  } as typeof response.end;
}
