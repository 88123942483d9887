/**
 * The local inspector: a page on 127.0.0.1 that lists the IPNs of the local pipeline as they arrive
 * (server-sent events), shows a payment's timeline, the request, the canonical event, the rules it
 * matched and each target delivery, and runs the operator's actions on it. Plain HTML, one script and
 * one stylesheet from files beside this one: nothing to build.
 *
 * Everything an IPN or a request carries reaches the page as JSON with `<`, `>` and `&` escaped, and is
 * put in the page as text (the script never uses innerHTML); the page's Content-Security-Policy allows
 * only its own script, so markup that slipped through still could not run. request-guard.ts says who
 * may call it.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LocalTarget } from '../../shared/rules/rule-file.ts';
import { readBody } from '../api-gateway-adapter.ts';
import { LOCAL_HOST } from '../aws-servers.ts';
import type { EventBusServer } from '../event-bus-server.ts';
import type { RecentSignatureFailures } from '../recent-signature-failures.ts';
import type { DeliveryResult } from '../rule-targets.ts';
import { ActionRefusedError } from './errors.ts';
import type { InspectorApi } from './inspector-api.ts';
import { type LiveChange, LiveRecord } from './live-record.ts';
import { checkAction, checkHost, newInspectorToken } from './request-guard.ts';

export interface InspectorOptions {
  /** 0 picks a free port. */
  port: number;
  /** When `port` is taken, listen on a free port instead of failing. */
  fallbackToFreePort?: boolean;
  dataDir: string;
  /** The secrets the local endpoint verifies with; the first signs resends and "copy as curl". */
  secrets: readonly string[];
  /** The scheme the local endpoint verifies (OKEPAY_SIGNATURE_SCHEME). */
  signatureScheme: 'body' | 'timestamp.body';
  bus: EventBusServer<LocalTarget>;
  signatureFailures: RecentSignatureFailures;
  print: (line: string) => void;
}

export interface Inspector {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** The local endpoint answered an IPN: call after the answer is built, with what it answered. */
  recordIpn(exchange: {
    event: APIGatewayProxyEventV2;
    rawBody: Buffer;
    result: APIGatewayProxyStructuredResultV2;
  }): void;
  /** A rule target delivery ended (TargetDelivery's `onDeliveryResult`). */
  recordDelivery(result: DeliveryResult): void;
  /** Ends the event streams and stops listening. */
  close(): Promise<void>;
}

const ASSETS_DIR = join(import.meta.dirname, 'assets');
const asset = (name: string) => readFileSync(join(ASSETS_DIR, name), 'utf8');
const PAGE = asset('page.html');
const ASSETS: Record<string, { type: string; body: string }> = {
  '/inspector.js': { type: 'text/javascript; charset=utf-8', body: asset('inspector.js') },
  '/inspector.css': { type: 'text/css; charset=utf-8', body: asset('inspector.css') },
};

/** Only its own files: an injected inline script or event handler attribute would not run. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const MAX_ACTION_BODY_BYTES = 16 * 1024;
const SNAPSHOT_ROWS = 200;
const HEARTBEAT_MS = 15_000;

/**
 * JSON that is safe wherever it lands: `<`, `>`, `&` and the two JavaScript line separators are
 * escaped, so no payload text can close a tag or open one even if it ended up in markup.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type }).end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', safeJson(value));
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`The inspector's port ${port} is in use: pass --inspector-port N (0 for a free port)`, {
              cause: error,
            })
          : error,
      ),
    );
    server.listen(port, LOCAL_HOST, () => {
      server.removeAllListeners('error');
      resolveListen();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startInspector(options: InspectorOptions): Promise<Inspector> {
  const token = newInspectorToken();
  const live = new LiveRecord((error) =>
    options.print(`inspector: ${error instanceof Error ? error.message : String(error)}`),
  );
  const streams = new Set<ServerResponse>();
  let api: Promise<InspectorApi> | undefined;
  /**
   * The reads and actions on the stored record pull in the CLI's modules (some 100 ms of imports):
   * loaded on the first request that needs them, so the pipeline's start does not wait for them.
   */
  const loadApi = () => {
    api ??= import('./inspector-api.ts').then(({ createInspectorApi }) =>
      createInspectorApi({
        dataDir: options.dataDir,
        secrets: options.secrets,
        signatureScheme: options.signatureScheme,
        live,
        busEvents: options.bus.events,
      }),
    );
    return api;
  };

  const broadcast = (change: LiveChange) => {
    const data = change.kind === 'ipn' ? change.row : change.kind === 'bus' ? change.record : change.failure;
    const frame = `event: ${change.kind}\ndata: ${safeJson(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  live.subscribe(broadcast);
  const unsubscribe = [
    options.bus.onEvent((envelope) => live.addBusEvent(envelope)),
    options.bus.onMatch((match) => live.addMatch(match.event.id, match.rule, match.targets)),
    options.signatureFailures.onAdd((failure) => live.signatureFailure(failure)),
  ];

  const openStream = (response: ServerResponse) => {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    const snapshot = {
      rows: live.rows(SNAPSHOT_ROWS),
      signatureFailures: options.signatureFailures.list(),
    };
    response.write(`retry: 1000\nevent: snapshot\ndata: ${safeJson(snapshot)}\n\n`);
    streams.add(response);
    response.on('close', () => streams.delete(response));
  };
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': still here\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  let port = 0;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const host = checkHost(request.headers, port);
    if (!host.ok) return sendJson(response, host.status, { error: host.message });
    const url = new URL(request.url ?? '/', `http://${LOCAL_HOST}:${port}`);
    const path = url.pathname;

    if (request.method === 'POST') {
      const guard = checkAction(request.headers, port, token);
      if (!guard.ok) return sendJson(response, guard.status, { error: guard.message });
      const name = /^\/api\/actions\/([a-z]+)$/.exec(path)?.[1];
      if (name === undefined) return sendJson(response, 404, { error: 'No such action' });
      if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
        return sendJson(response, 415, { error: 'Send the action as application/json' });
      }
      const body = await readBody(request, MAX_ACTION_BODY_BYTES);
      if (body === undefined) return sendJson(response, 413, { error: 'Request too large' });
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return sendJson(response, 400, { error: 'The body is not JSON' });
      }
      return sendJson(response, 200, await (await loadApi()).act(name, input));
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendJson(response, 405, { error: 'GET or POST only' });
    }

    if (path === '/' || path === '/index.html') {
      return send(response, 200, 'text/html; charset=utf-8', PAGE.replace('{{TOKEN}}', token));
    }
    const file = ASSETS[path];
    if (file) return send(response, 200, file.type, file.body);
    if (path === '/favicon.ico') return send(response, 204, 'image/x-icon', '');
    if (path === '/api/stream') return openStream(response);
    if (path === '/api/signature-failures') return sendJson(response, 200, options.signatureFailures.list());

    const ipn = /^\/api\/ipns\/(\d+)$/.exec(path);
    if (ipn) {
      const exchange = live.exchange(Number(ipn[1]));
      return exchange
        ? sendJson(response, 200, exchange)
        : sendJson(response, 404, { error: 'No such IPN in this run (the list keeps the latest 500)' });
    }
    if (path.startsWith('/api/')) {
      const answer = await (await loadApi()).get(path, url.searchParams);
      if (answer !== undefined) return sendJson(response, 200, answer);
    }
    return sendJson(response, 404, { error: 'Not found' });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof ActionRefusedError)
        return sendJson(response, error.status, { error: error.message });
      const message = error instanceof Error ? error.message : String(error);
      options.print(`inspector: ${request.method} ${request.url}: ${message}`);
      if (!response.headersSent) sendJson(response, 500, { error: message });
      else response.end();
    });
  });
  try {
    port = await listen(server, options.port);
  } catch (error) {
    if (!options.fallbackToFreePort || (error as { cause?: { code?: string } }).cause?.code !== 'EADDRINUSE')
      throw error;
    port = await listen(server, 0);
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${LOCAL_HOST}:${port}/`,
    recordIpn(exchange) {
      try {
        // The pipeline records a 401 (with the doctor's diagnosis) just before, in the same step.
        const newest = options.signatureFailures.list()[0];
        const failure =
          exchange.result.statusCode === 401 &&
          newest?.receivedAt === new Date(exchange.event.requestContext.timeEpoch).toISOString()
            ? newest
            : undefined;
        live.addIpn(exchange, failure);
      } catch (error) {
        options.print(`inspector: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    recordDelivery(result) {
      try {
        live.settleDelivery(result.busEventId, result.rule, result.target, result.error);
      } catch (error) {
        options.print(`inspector: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        for (const stop of unsubscribe) stop();
        for (const stream of streams) stream.end();
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        });
        if (api) await (await api).close();
      })();
      return closing;
    },
  };
}
