/**
 * AWS-compatible servers on 127.0.0.1, used by the local pipeline and the integration tests:
 * dynalite for DynamoDB and local-aws-sqs for SQS. Port 0 lets the OS pick a free port.
 */
import type { AddressInfo, Server } from 'node:net';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';

export const LOCAL_HOST = '127.0.0.1';
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  return `http://${LOCAL_HOST}:${address.port}`;
}

/** dynalite, in memory, or persisted in LevelDB under `path` so state survives a restart. */
export async function startDynamoDb(options: { port?: number; path?: string } = {}): Promise<RunningServer> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOCAL_HOST, () => resolve());
  });
  return { url: urlOf(server), close: () => closeServer(server) };
}

/** local-aws-sqs, in memory (messages do not survive a restart of the server). */
export async function startSqs(options: { port?: number } = {}): Promise<RunningServer> {
  const server = await createSqsServer({
    port: options.port ?? 0,
    hostname: LOCAL_HOST,
    accountId: LOCAL_ACCOUNT_ID,
    region: LOCAL_REGION,
    emulateQueueCreationLifecycle: false,
  });
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: urlOf(server),
    close: () => {
      server.closeAllConnections();
      return closeServer(server);
    },
  };
}
