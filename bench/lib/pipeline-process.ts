/**
 * The local pipeline as `npm start` runs it (`node bin/okepay.js serve`), in a child process with a
 * temporary data directory. Started with node directly rather than through npm, so the pid measured is
 * the pipeline's own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalEndpoints } from '../../functions/local/pipeline.ts';
import { BENCH_SECRET } from './bench-ipn.ts';
import { type ChildServer, startChildServer } from './child-server.ts';

export const ROOT = join(import.meta.dirname, '../..');

export interface PipelineProcess extends ChildServer {
  dataDir: string;
  /** What the pipeline wrote to `<data dir>/endpoints.json`. */
  endpoints: LocalEndpoints;
  /** Lines in bus.jsonl: one per event the local bus accepted. */
  eventsOnBus(): number;
  /** Stops the process and deletes the data directory. */
  close(): Promise<void>;
}

export async function startPipelineProcess(): Promise<PipelineProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'okepay-bench-pipeline-'));
  const server = await startChildServer({
    args: ['bin/okepay.js', 'serve', '--port', '0', '--data-dir', dataDir],
    cwd: ROOT,
    env: { ...process.env, OKEPAY_WEBHOOK_SECRETS: BENCH_SECRET },
    readyPattern: /IPN endpoint\s+POST (\S+)/,
    timeoutMs: 60_000,
  });
  const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as LocalEndpoints;
  return {
    ...server,
    dataDir,
    endpoints,
    eventsOnBus: () => {
      try {
        return readFileSync(join(dataDir, 'bus.jsonl'), 'utf8').split('\n').length - 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw error;
      }
    },
    close: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
