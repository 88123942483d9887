import type { Terminal } from '../../functions/replay/terminal.ts';

export interface RecordingTerminalOptions {
  env?: NodeJS.ProcessEnv;
  /** Whether a person could answer (default false: commands that ask then need --yes). */
  interactive?: boolean;
  /** What the person answers to every question. */
  answer?: string;
}

/** A terminal that keeps what a command prints. */
export function recordingTerminal(
  options: RecordingTerminalOptions = {},
): Terminal & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: { write: (text: string) => out.push(text), isTTY: false },
    err: { write: (text: string) => err.push(text), isTTY: false },
    interactive: options.interactive ?? false,
    ask: async () => options.answer ?? '',
    onInterrupt: () => () => {},
    env: options.env ?? {},
    cwd: process.cwd(),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
