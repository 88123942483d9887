/**
 * Servers on 127.0.0.1 that fail the way a dependency fails at the socket, for tests of what the SDK
 * clients do then: one accepts connections and never answers, one sends the status line and headers of
 * a response and part of its body and then holds the socket open, one answers 500 to everything, and a
 * closed port refuses. Each listens on a port the OS picks; `close()` destroys the sockets it holds.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';

export interface BrokenServer {
  /** `http://127.0.0.1:<port>`, for a client's `endpoint`. */
  url: string;
  /** Requests whose headers arrived so far (an SDK attempt is one request). */
  readonly requests: number;
  close(): Promise<void>;
}

const HEADER_END = '\r\n\r\n';

/**
 * Calls `onRequest` once per complete HTTP/1.1 request on the socket (headers, then Content-Length
 * bytes of body), which is all the SDK sends: no chunked bodies.
 */
function onEachRequest(socket: Socket, onRequest: () => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const headerEnd = buffered.indexOf(HEADER_END);
      if (headerEnd < 0) return;
      const head = buffered.subarray(0, headerEnd).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const end = headerEnd + HEADER_END.length + length;
      if (buffered.length < end) return;
      buffered = buffered.subarray(end);
      onRequest();
    }
  });
}

async function listen(server: Server, sockets: Set<Socket>, counter: { requests: number }) {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client that gives up destroys its socket; the reset is expected, not a test failure.
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return counter.requests;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } satisfies BrokenServer;
}

/** Accepts every connection, reads the requests and never sends a byte back. */
export async function startSilentServer(): Promise<BrokenServer> {
  const counter = { requests: 0 };
  const server = createServer((socket) => onEachRequest(socket, () => counter.requests++));
  return listen(server, new Set(), counter);
}

/**
 * Answers each request with a 200 status line and headers announcing a 1,000-byte JSON body, sends
 * the first bytes of it, and then nothing more, holding the socket open: the response has begun, so a
 * timeout that stops at the headers no longer applies.
 */
export async function startHalfResponseServer(): Promise<BrokenServer> {
  const counter = { requests: 0 };
  const server = createServer((socket) =>
    onEachRequest(socket, () => {
      counter.requests++;
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 1000\r\n' +
          'x-amzn-RequestId: half-response\r\n\r\n{"Item":{"pk":',
      );
    }),
  );
  return listen(server, new Set(), counter);
}

/** Answers every request at once with 500 and an AWS JSON error body, which the SDK retries. */
export async function startErrorServer(): Promise<BrokenServer> {
  const counter = { requests: 0 };
  const server = createHttpServer((request, response) => {
    counter.requests++;
    request.resume();
    request.on('end', () => {
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'InternalServerError', message: 'broken on purpose' }));
    });
  });
  return listen(server, new Set(), counter);
}

/**
 * A port that refuses connections: one the OS gave out and that is closed again. Another process could
 * take it in between; on 127.0.0.1 in a test run that does not happen in practice.
 */
export async function startRefusingServer(): Promise<BrokenServer> {
  const server = createServer();
  const running = await listen(server, new Set(), { requests: 0 });
  await running.close();
  return { url: running.url, requests: 0, close: async () => {} };
}
