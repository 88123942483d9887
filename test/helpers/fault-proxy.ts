/**
 * Faults at the wire: an HTTP proxy on 127.0.0.1 in front of a real local server (dynalite,
 * local-aws-sqs, the local event bus). The SDK clients under test point their `endpoint` at it, so
 * every fault goes through their real HTTP handler, with its real timeouts, which a fault thrown by a
 * middleware above that layer (test/helpers/faults.ts) never does.
 *
 * Decisions are per request, not per connection: the SDK keeps its connections alive and sends many
 * requests on each, so a per-connection fault would hit a burst of calls and then none.
 */
import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import type { FaultLog } from './faults.ts';

/**
 * - `hang`: reads the request and never answers nor forwards it (a server that accepted and froze);
 * - `reset`: resets the connection as soon as the request arrives, without forwarding it;
 * - `server-error` / `unavailable`: answers 500 / 503 itself, without forwarding;
 * - `hang-after`, `half-response`, `reset-after`: forwards the request, waits for the server's whole
 *   answer, then sends nothing, or the status line, headers and half the body and holds the socket,
 *   or resets. The server did the work and the client cannot know: the dangerous kinds.
 */
export type WireFaultKind =
  | 'hang'
  | 'reset'
  | 'server-error'
  | 'unavailable'
  | 'hang-after'
  | 'half-response'
  | 'reset-after';

export const WIRE_FAULT_KINDS: readonly WireFaultKind[] = [
  'hang',
  'reset',
  'server-error',
  'unavailable',
  'hang-after',
  'half-response',
  'reset-after',
];

/** The kinds after which the request reached the server and did its work, with the answer lost. */
export const WORK_DONE_KINDS: ReadonlySet<WireFaultKind> = new Set([
  'hang-after',
  'half-response',
  'reset-after',
]);

export interface InjectedWireFault {
  /** `<service>.<operation>`, e.g. `eventbridge.PutEvents`. */
  operation: string;
  kind: WireFaultKind;
  requestBody: Buffer;
  /** What the server answered, for the kinds that forwarded the request. */
  upstream?: { status: number; body: Buffer };
}

export interface FaultProxyOptions {
  /** The real server, `http://127.0.0.1:<port>`. */
  target: string;
  /** Prefix of the operation names in the log (`dynamodb`, `sqs`, `eventbridge`). */
  service: string;
  /** Share of the requests that get a fault, 0 to 1; {@link FaultProxy.setRate} changes it. */
  rate: number;
  /** Seeded (test/helpers/faults.ts `seededRandom`), so a run can be repeated. */
  random: () => number;
  /** Counts per `<service>.<operation>` and per `<service>.<operation>:<kind>`; can be shared by proxies. */
  log: FaultLog;
  /** The kinds to choose from, uniformly; default all. */
  kinds?: readonly WireFaultKind[];
  /** Called once a fault is complete: for the forwarding kinds, after the server answered. */
  onFault?: (fault: InjectedWireFault) => void;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, for a client's `endpoint`. */
  readonly url: string;
  setRate(rate: number): void;
  /** Destroys every socket it holds (clients' and the server's) and stops listening. */
  close(): Promise<void>;
}

/** `DynamoDB_20120810.PutItem` → `PutItem`; the query protocol names it in the body instead. */
function operationOf(headers: IncomingHttpHeaders, body: Buffer): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  return /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('latin1'))?.[1] ?? 'unknown';
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Headers of the answer as the proxy sends it: its own framing, the server's everything else. */
function answerHeaders(headers: IncomingHttpHeaders, contentLength: number): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = { ...headers };
  for (const hop of ['transfer-encoding', 'connection', 'keep-alive', 'content-length']) delete copy[hop];
  copy['content-length'] = String(contentLength);
  return copy;
}

const AWS_ERRORS = {
  'server-error': { status: 500, type: 'InternalFailure' },
  unavailable: { status: 503, type: 'ServiceUnavailable' },
} as const;

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.kinds ?? WIRE_FAULT_KINDS;
  let rate = options.rate;
  const sockets = new Set<Socket>();
  // Its own agent, so close() can destroy the connections to the server too.
  const agent = new Agent({ keepAlive: true });
  const tally = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

  const forward = (incoming: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const outgoing = request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, 'content-length': String(body.length) },
          agent,
        },
        (response) => {
          readAll(response).then(
            (answer) =>
              resolve({ status: response.statusCode ?? 502, headers: response.headers, body: answer }),
            reject,
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  const server = createServer((incoming, response) => {
    void (async () => {
      const socket = incoming.socket;
      const body = await readAll(incoming);
      const operation = `${options.service}.${operationOf(incoming.headers, body)}`;
      tally(options.log.calls, operation);
      const kind =
        options.random() < rate
          ? (kinds[Math.floor(options.random() * kinds.length)] as WireFaultKind)
          : undefined;
      if (kind) tally(options.log.counts, `${operation}:${kind}`);

      if (kind === 'hang') return options.onFault?.({ operation, kind, requestBody: body });
      if (kind === 'reset') {
        socket.resetAndDestroy();
        return options.onFault?.({ operation, kind, requestBody: body });
      }
      if (kind === 'server-error' || kind === 'unavailable') {
        const { status, type } = AWS_ERRORS[kind];
        const payload = JSON.stringify({ __type: type, message: `${status} injected by the fault proxy` });
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(payload);
        return options.onFault?.({ operation, kind, requestBody: body });
      }

      const answer = await forward(incoming, body);
      const upstream = { status: answer.status, body: answer.body };
      if (kind === 'hang-after') return options.onFault?.({ operation, kind, requestBody: body, upstream });
      if (kind === 'reset-after') {
        socket.resetAndDestroy();
        return options.onFault?.({ operation, kind, requestBody: body, upstream });
      }
      if (kind === 'half-response') {
        // The whole length is announced and half is sent (at least one byte is always missing), so
        // the client has its headers and waits for a body that never completes.
        response.writeHead(answer.status, answerHeaders(answer.headers, Math.max(answer.body.length, 1)));
        response.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
        return options.onFault?.({ operation, kind, requestBody: body, upstream });
      }
      response.writeHead(answer.status, answerHeaders(answer.headers, answer.body.length));
      response.end(answer.body);
    })().catch(() => {
      // The server went away (the test is closing) or the client hung up: end this exchange.
      incoming.socket.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Clients destroy the sockets they gave up on; the resets this causes are expected.
    socket.on('error', () => {});
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    setRate: (next) => {
      rate = next;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      });
      return closing;
    },
  };
}
