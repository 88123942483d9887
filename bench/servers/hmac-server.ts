/**
 * Floor 1 of the ack-path benchmark: a bare node:http server that verifies the signature and answers
 * 200, nothing else. Prints `listening <url>` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IPN_PATH } from '../lib/bench-ipn.ts';
import { answer, hmacIsValid, readRequestBody, secretFromEnv } from './floor-http.ts';

const secret = secretFromEnv();

const server = createServer((request, response) => {
  readRequestBody(request).then(
    (body) => {
      if (!hmacIsValid(request.headers['x-okepay-signature'], body, secret)) {
        answer(response, 401, '{"error":"invalid_signature"}');
      } else {
        answer(response, 200, '{"status":"accepted"}');
      }
    },
    () => answer(response, 400, '{"error":"unreadable_body"}'),
  );
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening http://127.0.0.1:${port}${IPN_PATH}`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
