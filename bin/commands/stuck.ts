/**
 * `okepay stuck list|sweep`: stored events still unpublished after a grace period. The scheduled
 * sweeper (and the local pipeline) enqueues them again by itself; this shows them and sweeps now.
 */
import { findStuckEvents, sweepStuckEvents } from '../../functions/operations/sweep-stuck-events.ts';
import { formatCount, processTerminal, type Terminal } from '../../functions/replay/terminal.ts';
import { entryTable, noMetrics, operationsOf, silentLog } from './attention.ts';
import { parseOptions, UsageError } from './command.ts';
import { resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from './targets.ts';

export const summary = 'List stored events still unpublished after a grace period; enqueue them again now';

export const usage = `Usage: okepay stuck list|sweep (--local | --stack NAME) [--grace MINUTES] [--json]

  list    stored events still "received" (never published) that were received more than the grace
          period ago, oldest first, with how often the sweeper enqueued each again
  sweep   enqueue them again now (safe: the consumer skips anything published meanwhile)

Options:
  --grace MINUTES   default 15, as the stack's sweeper (0: every unpublished event)
  --json            list: JSON for scripts

${TARGET_USAGE}

An event that stays stuck after sweeps is failing in the consumer: see \`okepay dlq list\`.`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  grace: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function runStuckCommand(argv: string[], terminal: Terminal): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: true });
  const [subcommand, ...extra] = positionals;
  if (subcommand !== 'list' && subcommand !== 'sweep') {
    throw new UsageError(
      subcommand === undefined ? 'say what to do: list or sweep' : `unknown subcommand "${subcommand}"`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const graceText = values.grace ?? '15';
  if (!/^\d+$/.test(graceText)) throw new UsageError(`--grace must be whole minutes, got "${graceText}"`);
  const settings = { graceMs: Number(graceText) * 60_000 };

  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  const ops = operationsOf(target);
  try {
    if (subcommand === 'list') {
      const { count, oldest } = await findStuckEvents({ ...ops, settings });
      if (values.json) {
        terminal.out.write(`${JSON.stringify({ target: target.description, count, oldest }, null, 2)}\n`);
      } else if (count === 0) {
        terminal.out.write(`No stuck events in ${target.description} (grace ${graceText} min).\n`);
      } else {
        const shown = oldest.length < count ? ` (the oldest ${formatCount(oldest.length)})` : '';
        terminal.out.write(
          `${formatCount(count)} event${count === 1 ? '' : 's'} unpublished for more than ${graceText} min in ${target.description}${shown}:\n\n${entryTable(oldest)}\n`,
        );
      }
      return 0;
    }
    const report = await sweepStuckEvents({ ...ops, log: silentLog, metrics: noMetrics, settings });
    terminal.out.write(
      `Swept ${target.description}: ${report.stuck} stuck, ${report.reenqueued} enqueued again, ` +
        `${report.backingOff} left to their backoff; ${report.held} held revision(s), ${report.rejected} rejected IPN(s) waiting.\n`,
    );
    return 0;
  } finally {
    target.destroy();
  }
}

export const run = (argv: string[]): Promise<number> => runStuckCommand(argv, processTerminal());
