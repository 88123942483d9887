/**
 * What both floor servers share: reading the body and checking the okePay signature with node:crypto
 * alone (the header's t and v1, the timestamp tolerance, HMAC-SHA256, a constant-time compare). No
 * framework and none of the product's code, so the floors show what the transport and the crypto cost.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TOLERANCE_SECONDS = 300;

export function readRequestBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export function hmacIsValid(header: string | string[] | undefined, body: Buffer, secret: string): boolean {
  if (typeof header !== 'string') return false;
  let timestamp = Number.NaN;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value = ''] = part.split('=', 2);
    if (key === 't') timestamp = Number(value);
    else if (key === 'v1') candidates.push(value);
  }
  if (!(Math.abs(Date.now() / 1000 - timestamp) <= TOLERANCE_SECONDS)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return candidates.some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

export function secretFromEnv(): string {
  // The product's format: one secret, or a JSON array of them (read by hand: no product code here).
  const configured = process.env.OKEPAY_WEBHOOK_SECRETS?.trim() ?? '';
  const secret = configured.startsWith('[') ? (JSON.parse(configured) as string[])[0]?.trim() : configured;
  if (!secret) throw new Error('OKEPAY_WEBHOOK_SECRETS must hold the webhook secret');
  return secret;
}

/**
 * Listens on 127.0.0.1 with an OS-chosen port, prints the URL the bench harness waits for, and on
 * SIGTERM closes the server, runs `cleanup` and exits.
 */
export function serveUntilSigterm(server: Server, path: string, cleanup: () => Promise<void>): void {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`listening http://127.0.0.1:${port}${path}`);
  });
  process.once('SIGTERM', () => {
    server.close(async () => {
      await cleanup();
      process.exit(0);
    });
    // The load generator is done: any connection still open is only waiting to be reused.
    server.closeAllConnections();
  });
}
