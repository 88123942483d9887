/**
 * What the `replay` and `dlq` commands need from a terminal, behind a small interface so tests can run
 * the commands and read what they print: output streams, a question, Ctrl-C. Also the progress bar
 * and table they draw.
 */
import { createInterface } from 'node:readline/promises';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Terminal {
  out: Output;
  err: Output;
  /** Whether a person can answer a question (stdin is a terminal). */
  interactive: boolean;
  ask(question: string): Promise<string>;
  /** Calls `handler` on the first Ctrl-C (SIGINT); a second one ends the process as usual. */
  onInterrupt(handler: () => void): () => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processTerminal(): Terminal {
  return {
    out: process.stdout,
    err: process.stderr,
    interactive: process.stdin.isTTY === true,
    async ask(question) {
      const readline = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await readline.question(question);
      } finally {
        readline.close();
      }
    },
    onInterrupt(handler) {
      // `once`: after the first Ctrl-C no listener is left, so a second one terminates the process.
      process.once('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

export const formatCount = (value: number) => value.toLocaleString('en-US');

/** `0:42`, `12:05`, `1:02:03`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

export interface ProgressState {
  done: number;
  total: number;
  failed: number;
  startedAt: number;
  now: number;
}

/** Events per second so far, and the estimated time left. */
export function progressFigures(state: ProgressState): { perSecond: number; etaMs: number | undefined } {
  const elapsedMs = state.now - state.startedAt;
  const perSecond = elapsedMs > 0 ? (state.done * 1000) / elapsedMs : 0;
  const etaMs = perSecond > 0 ? ((state.total - state.done) / perSecond) * 1000 : undefined;
  return { perSecond, etaMs };
}

const BAR_WIDTH = 24;

/** One line: `[#########...............]  38%  380/1,000  98 ev/s  ETA 0:06  0 failed`. */
export function progressLine(state: ProgressState): string {
  const { perSecond, etaMs } = progressFigures(state);
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  return [
    bar,
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${formatCount(state.done)}/${formatCount(state.total)}`,
    `${formatCount(Math.round(perSecond))} ev/s`,
    `ETA ${etaMs === undefined ? '-' : formatDuration(etaMs)}`,
    `${formatCount(state.failed)} failed`,
  ].join('  ');
}

export interface ProgressReporter {
  update(state: ProgressState): void;
  /** Clears the bar (a terminal) before the summary is printed. */
  end(): void;
}

/**
 * A bar redrawn in place on a terminal (at most every 100 ms), or a plain line every 5 s when the
 * output is a file or a pipe, so logs stay readable.
 */
export function createProgressReporter(output: Output): ProgressReporter {
  const tty = output.isTTY === true;
  let last: number | undefined;
  let drawn = false;
  return {
    update(state) {
      if (tty) {
        const finished = state.done >= state.total;
        if (last !== undefined && state.now - last < 100 && !finished) return;
        last = state.now;
        output.write(`\r\x1b[2K${progressLine(state)}`);
        drawn = true;
        return;
      }
      // Plain lines start one interval in, so a short replay prints only its summary.
      if (last === undefined) last = state.now;
      if (state.now - last < 5_000) return;
      last = state.now;
      output.write(`${progressLine(state)}\n`);
    },
    end() {
      if (drawn) output.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
