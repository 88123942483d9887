/**
 * Targets are printed next to the figures, never asserted: a benchmark that misses one still exits 0.
 * When `BENCH_TARGETS_FILE` is set (bench/run.ts sets it), each verdict is also appended there as a JSON
 * line, so the runner can print one summary after all benchmarks.
 */
import { appendFileSync } from 'node:fs';

export interface TargetVerdict {
  benchmark: string;
  target: string;
  measured: string;
  /** undefined: could not be measured (the benchmark or its subject is not available). */
  met: boolean | undefined;
}

export const TARGETS_FILE_ENV = 'BENCH_TARGETS_FILE';

export function verdict(met: boolean | undefined): string {
  if (met === undefined) return 'n/a';
  return met ? 'met' : 'NOT met';
}

export function recordTargets(verdicts: readonly TargetVerdict[]): void {
  const file = process.env[TARGETS_FILE_ENV];
  if (!file) return;
  appendFileSync(file, verdicts.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
}
