/**
 * The `okepay` command line: one entry, one module per command in `bin/commands/`. Each command
 * module exports `summary`, `usage` and `run(argv)`, which returns the process exit code.
 */
import { type Command, UsageError } from './commands/command.ts';

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: () => import('./commands/serve.ts'),
  send: () => import('./commands/send.ts'),
  sign: () => import('./commands/sign.ts'),
  doctor: () => import('./commands/doctor.ts'),
  rules: () => import('./commands/rules.ts'),
  replay: () => import('./commands/replay.ts'),
  dlq: () => import('./commands/dlq.ts'),
  revisions: () => import('./commands/revisions.ts'),
  rejected: () => import('./commands/rejected.ts'),
  stuck: () => import('./commands/stuck.ts'),
  events: () => import('./commands/events.ts'),
};

async function help(): Promise<string> {
  const lines = ['Usage: okepay <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  lines.push('', 'Run `okepay <command> --help` for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`okepay: unknown command "${name}"\n\n${await help()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`okepay ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`okepay ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
