import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENDPOINTS_FILE, type LocalEndpoints } from '../../functions/local/pipeline.ts';

export function defaultDataDir(): string {
  return resolve(process.env.OKEPAY_DATA_DIR ?? '.okepay-local');
}

/** The endpoints a running `okepay serve` wrote, or undefined when there is none in `dataDir`. */
export function readLocalEndpoints(dataDir = defaultDataDir()): LocalEndpoints | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, ENDPOINTS_FILE), 'utf8')) as LocalEndpoints;
  } catch {
    return undefined;
  }
}
