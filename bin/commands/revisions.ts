/**
 * `okepay revisions list|release|discard`: bodies with a known payment_id + event but different
 * content (a second partial refund), kept whole and held for an operator.
 */
import { NothingMatchesError, WrongStateError } from '../../functions/operations/errors.ts';
import {
  discardRevision,
  findHeldRevision,
  listHeldRevisions,
  type RevisionSelector,
  releaseRevision,
} from '../../functions/operations/held-revisions.ts';
import { formatCount, processTerminal, type Terminal } from '../../functions/replay/terminal.ts';
import { confirm, entryTable, operationsOf } from './attention.ts';
import { parseOptions, UsageError } from './command.ts';
import { resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from './targets.ts';

export const summary = 'List held revisions (same payment and event, other content); release or discard one';

export const usage = `Usage: okepay revisions list (--local | --stack NAME) [--payment-id ID] [--json]
       okepay revisions release|discard PAYMENT_ID (--local | --stack NAME) [--event TYPE] [--revision N] [--dry-run] [--yes]

An IPN whose payment_id and event were received before with other content (a second partial refund
with another amount) is kept whole as a revision (2, 3, ...). With the default revision policy
"hold" it waits here until you decide:

  list       the held revisions, oldest first
  release    publish it: it becomes its own canonical event (detail.revision >= 2, its own eventId)
  discard    never publish it; it stays stored as the record

Options:
  --payment-id ID   list: only this payment's
  --event TYPE      release/discard: which event type, when the payment has several held
  --revision N      release/discard: which revision number, when the payment has several held
  --dry-run         release/discard: say what would happen; change nothing
  --yes             release/discard: do not ask (required when stdin is not a terminal)
  --json            list: print JSON for scripts

${TARGET_USAGE}

Examples:
  npx okepay revisions list --local
  npx okepay revisions release pay_8f2k1 --local --event payment.refunded --revision 2`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  'payment-id': { type: 'string' },
  event: { type: 'string' },
  revision: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function runRevisionsCommand(argv: string[], terminal: Terminal): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: true });
  const [subcommand, paymentId, ...extra] = positionals;
  if (subcommand !== 'list' && subcommand !== 'release' && subcommand !== 'discard') {
    throw new UsageError(
      subcommand === undefined
        ? 'say what to do: list, release or discard'
        : `unknown subcommand "${subcommand}"`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (subcommand !== 'list' && paymentId === undefined) {
    throw new UsageError(`${subcommand} needs the payment id: okepay revisions ${subcommand} PAYMENT_ID ...`);
  }
  if (values.revision !== undefined && !/^[2-9]\d*$|^[1-9]\d+$/.test(values.revision)) {
    throw new UsageError(`--revision must be a revision number, 2 or more, got "${values.revision}"`);
  }
  const selector: RevisionSelector = {
    ...(paymentId !== undefined || values['payment-id'] !== undefined
      ? { paymentId: paymentId ?? values['payment-id'] }
      : {}),
    ...(values.event !== undefined ? { event: values.event } : {}),
    ...(values.revision !== undefined ? { revision: Number(values.revision) } : {}),
  };

  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  const deps = operationsOf(target);
  try {
    if (subcommand === 'list') {
      const held = await listHeldRevisions(deps, selector);
      if (values.json) {
        terminal.out.write(`${JSON.stringify({ target: target.description, held }, null, 2)}\n`);
      } else if (held.length === 0) {
        terminal.out.write(`No held revisions in ${target.description}.\n`);
      } else {
        terminal.out.write(
          `${formatCount(held.length)} held revision${held.length === 1 ? '' : 's'} in ${target.description}:\n\n` +
            `${entryTable(held)}\n\nRelease one: npx okepay revisions release PAYMENT_ID --event TYPE --revision N ${target.kind === 'local' ? '--local' : `--stack ...`}\n`,
        );
      }
      return 0;
    }

    const entry = await findHeldRevision(deps, selector);
    const name = `${entry.key.paymentId} ${entry.key.event} revision ${entry.revision}`;
    const what =
      subcommand === 'release'
        ? `Release ${name} in ${target.description}: it is published on the bus as its own event.`
        : `Discard ${name} in ${target.description}: it stays stored and is never published.`;
    if (values['dry-run']) {
      terminal.out.write(`Dry run, nothing changed. ${what}\n`);
      return 0;
    }
    if (!(await confirm(terminal, `${what.replace(/\.$/, '')}?`, values.yes === true))) {
      terminal.out.write('Nothing changed.\n');
      return 1;
    }
    if (subcommand === 'release') {
      await releaseRevision(deps, entry);
      terminal.out.write(`Released ${name}: enqueued for publishing.\n`);
    } else {
      await discardRevision(deps, entry);
      terminal.out.write(`Discarded ${name}.\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof NothingMatchesError || error instanceof WrongStateError) {
      terminal.err.write(`okepay revisions: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    target.destroy();
  }
}

export const run = (argv: string[]): Promise<number> => runRevisionsCommand(argv, processTerminal());
