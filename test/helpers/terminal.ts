import type { Terminal } from '../../functions/replay/terminal.ts';

/** A terminal that keeps what a command prints; not interactive, so commands that ask need --yes. */
export function recordingTerminal(
  env: NodeJS.ProcessEnv = {},
): Terminal & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: { write: (text: string) => out.push(text), isTTY: false },
    err: { write: (text: string) => err.push(text), isTTY: false },
    interactive: false,
    ask: async () => '',
    onInterrupt: () => () => {},
    env,
    cwd: process.cwd(),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
