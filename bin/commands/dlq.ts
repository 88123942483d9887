/**
 * `okepay dlq list|redrive|purge`: the messages the consumer gave up on (after maxReceiveCount
 * receives), why each failed, and what to do with them.
 */
import type { DeadLetterQueue, MoveTask } from '../../functions/operations/dead-letters/dead-letter-queue.ts';
import {
  type DeadLetterDiagnosis,
  diagnoseDeadLetters,
} from '../../functions/operations/dead-letters/diagnose-dead-letters.ts';
import { SqsDeadLetterQueue } from '../../functions/operations/dead-letters/sqs-dead-letter-queue.ts';
import { formatCount, formatTable, processTerminal, type Terminal } from '../../functions/replay/terminal.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { parseOptions, UsageError } from './command.ts';
import { resolveTarget, TARGET_OPTIONS, TARGET_USAGE, type Target } from './targets.ts';

export const summary = 'List, redrive or purge the dead-letter queue, with the reason each message failed';

const DEFAULT_MAX = 100;
const MAX_MAX = 1_000;

export const usage = `Usage: okepay dlq list|redrive|purge (--local | --stack NAME) [options]

  list       the DLQ's messages and why each one failed; nothing is deleted
  redrive    move every message back to the queue, where the consumer picks it up again
             (SQS StartMessageMoveTask); do this once the cause is fixed
  purge      delete every message in the DLQ, for good (asks first)

Options:
  --max N    list: at most N messages (default ${DEFAULT_MAX}, at most ${MAX_MAX})
  --json     list: print JSON for scripts
  --yes      purge: do not ask (required when stdin is not a terminal)

${TARGET_USAGE}

Reasons \`list\` gives:
  poison message: ...                 not a queued IPN reference; it can never succeed: purge it
  stored event missing                the stored item expired or was deleted: purge it
  publish failed; see consumer logs   the event is stored and unpublished: fix the cause, then redrive
  unpublishable: ...                  no retry can publish it (too large, body no longer valid): see DEPLOY.md
  stored item cannot be read          the item was altered by hand: fix or delete it, then purge
  a revision that is held             only \`okepay revisions release\` publishes it: purge
  already published (safe to purge)   a later delivery published it`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  max: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
} as const;

const SUBCOMMANDS = ['list', 'redrive', 'purge'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export interface DlqCommandOptions {
  /** How often `redrive` polls the move task. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `run`, with the terminal given: the tests pass their own. */
export async function runDlqCommand(
  argv: string[],
  terminal: Terminal,
  options: DlqCommandOptions = {},
): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: true });
  const [subcommand, ...extra] = positionals;
  if (!SUBCOMMANDS.includes(subcommand as Subcommand)) {
    throw new UsageError(
      subcommand === undefined
        ? 'say what to do: list, redrive or purge'
        : `unknown subcommand "${subcommand}"`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (subcommand !== 'list' && (values.max !== undefined || values.json)) {
    throw new UsageError('--max and --json apply to dlq list');
  }
  if (subcommand !== 'purge' && values.yes) throw new UsageError('--yes applies to dlq purge');
  let max = DEFAULT_MAX;
  if (values.max !== undefined) {
    if (!/^\d+$/.test(values.max) || Number(values.max) < 1 || Number(values.max) > MAX_MAX) {
      throw new UsageError(`--max must be a whole number from 1 to ${MAX_MAX}`);
    }
    max = Number(values.max);
  }

  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  const dlq = new SqsDeadLetterQueue(target.sqs, target);
  try {
    switch (subcommand as Subcommand) {
      case 'list':
        return await list(terminal, target, dlq, max, values.json === true);
      case 'redrive':
        return await redrive(terminal, target, dlq, options.pollMs ?? 1_000);
      case 'purge':
        return await purge(terminal, target, dlq, values.yes === true);
    }
  } finally {
    target.destroy();
  }
}

async function list(
  terminal: Terminal,
  target: Target,
  dlq: DeadLetterQueue,
  max: number,
  json: boolean,
): Promise<number> {
  const letters = await dlq.peek(max);
  const diagnoses = await diagnoseDeadLetters(
    letters,
    new DynamoDbEventStore(target.dynamoDb, target.tableName),
  );
  if (json) {
    terminal.out.write(`${JSON.stringify({ target: target.description, messages: diagnoses }, null, 2)}\n`);
    return 0;
  }
  if (diagnoses.length === 0) {
    terminal.out.write(`The DLQ of ${target.description} is empty.\n`);
    return 0;
  }
  const more = diagnoses.length >= max ? ` (the first ${formatCount(max)}; --max shows more)` : '';
  terminal.out.write(
    `${formatCount(diagnoses.length)} message${diagnoses.length === 1 ? '' : 's'} in the DLQ of ${target.description}${more}:\n\n`,
  );
  const rows = diagnoses.map((diagnosis: DeadLetterDiagnosis) => [
    diagnosis.messageId,
    diagnosis.sentAt ?? '-',
    diagnosis.key ? `${diagnosis.key.paymentId} ${diagnosis.key.event}` : '-',
    diagnosis.reason,
  ]);
  terminal.out.write(`${formatTable(['MESSAGE ID', 'SENT AT', 'PAYMENT / EVENT', 'REASON'], rows)}\n`);
  return 0;
}

function moveLine(task: MoveTask): string {
  const of = task.toMove === undefined ? '' : ` of ${formatCount(task.toMove)}`;
  return `${task.status}: ${formatCount(task.moved)}${of} moved`;
}

async function redrive(
  terminal: Terminal,
  target: Target,
  dlq: DeadLetterQueue,
  pollMs: number,
): Promise<number> {
  const count = await dlq.approximateCount();
  if (count === 0) {
    terminal.out.write(`The DLQ of ${target.description} is empty; nothing to redrive.\n`);
    return 0;
  }
  await dlq.startRedrive();
  terminal.err.write(`Moving about ${formatCount(count)} messages from the DLQ back to the queue...\n`);
  let interrupted = false;
  const stopListening = terminal.onInterrupt(() => {
    interrupted = true;
  });
  try {
    for (;;) {
      const task = await dlq.latestRedrive();
      if (task && task.status !== 'RUNNING' && task.status !== 'CANCELLING') {
        if (task.status === 'COMPLETED') {
          terminal.out.write(
            `Moved ${formatCount(task.moved)} message${task.moved === 1 ? '' : 's'} back to the queue of ${target.description}. ` +
              'The consumer publishes them now; any that fail again return to the DLQ after maxReceiveCount receives.\n',
          );
          return 0;
        }
        terminal.out.write(
          `The move ended ${moveLine(task)}${task.failureReason ? ` (${task.failureReason})` : ''}.\n`,
        );
        return 1;
      }
      if (task) terminal.err.write(`  ${moveLine(task)}\n`);
      if (interrupted) {
        terminal.out.write('Stopped waiting; the move goes on in SQS. Check with `okepay dlq list`.\n');
        return 130;
      }
      await sleep(pollMs);
    }
  } finally {
    stopListening();
  }
}

async function purge(
  terminal: Terminal,
  target: Target,
  dlq: DeadLetterQueue,
  yes: boolean,
): Promise<number> {
  const count = await dlq.approximateCount();
  if (count === 0) {
    terminal.out.write(`The DLQ of ${target.description} is already empty.\n`);
    return 0;
  }
  if (!yes) {
    if (!terminal.interactive) {
      throw new UsageError(
        `purge deletes about ${formatCount(count)} messages for good; pass --yes to confirm when not at a terminal`,
      );
    }
    const answer = await terminal.ask(
      `Delete all (about ${formatCount(count)}) messages in the DLQ of ${target.description}? ` +
        'They cannot be recovered; `okepay dlq list` shows what they are. Type "yes" to delete: ',
    );
    if (answer.trim().toLowerCase() !== 'yes') {
      terminal.out.write('Not purged.\n');
      return 1;
    }
  }
  await dlq.purge();
  terminal.out.write(
    `Purge of about ${formatCount(count)} messages requested; SQS deletes them within 60 seconds.\n`,
  );
  return 0;
}

export const run = (argv: string[]): Promise<number> => runDlqCommand(argv, processTerminal());
