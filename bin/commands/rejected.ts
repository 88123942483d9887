/**
 * `okepay rejected list|show|reprocess`: signed IPNs refused by validation (400/415), kept whole.
 * okePay never resends a 4xx, so these records are the only copies; after a fix they can be validated
 * again and, if valid, stored, enqueued and published like live IPNs.
 */

import { REVISION_POLICIES, type RevisionPolicy } from '../../functions/ingest/receive-ipn.ts';
import { NothingMatchesError, WrongStateError } from '../../functions/operations/errors.ts';
import {
  checkRejected,
  findRejected,
  listRejectedIpns,
  reprocessRejected,
} from '../../functions/operations/reprocess-rejected.ts';
import { formatCount, formatTable, processTerminal, type Terminal } from '../../functions/replay/terminal.ts';
import type { StoredRejectedIpn } from '../../functions/shared/store/event-store.ts';
import { confirm, noMetrics, operationsOf, shortHash, silentLog } from './attention.ts';
import { parseOptions, UsageError } from './command.ts';
import { resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from './targets.ts';

export const summary = 'List signed IPNs refused by validation, with the reasons; reprocess them after a fix';

export const usage = `Usage: okepay rejected list (--local | --stack NAME) [--json]
       okepay rejected show HASH (--local | --stack NAME) [--body]
       okepay rejected reprocess (HASH | --all) (--local | --stack NAME) [--dry-run] [--yes]

A signed IPN whose body fails validation is answered 400 (or 415), which okePay never resends; the
body is kept. Once the cause is fixed (an upgrade of this pipeline, a corrected okePay payload),
reprocess validates it again with the current code and, if it is valid now, stores, enqueues and
publishes it like a live IPN (its signature was verified when it arrived; the stored event records
reprocessedFrom and keeps the first receivedAt).

  list        the rejected IPNs waiting, newest first, with the reasons
  show        one of them: the reasons and, with --body, the body as received
  reprocess   validate again and, if valid, publish (HASH: the body hash or its first 8+ characters)

Options:
  --all                   reprocess: every rejected IPN waiting
  --dry-run               reprocess: say what today's validation says; change nothing
  --yes                   reprocess: do not ask (required when stdin is not a terminal)
  --revision-policy P     reprocess: hold (default) or publish, for a body that turns out to be a revision
  --body                  show: print the body
  --json                  list/show: JSON for scripts

${TARGET_USAGE}`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean' },
  'revision-policy': { type: 'string' },
  body: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const reasons = (issues: { path: string; message: string }[] | undefined) =>
  (issues ?? []).map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');

export async function runRejectedCommand(argv: string[], terminal: Terminal): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: true });
  const [subcommand, id, ...extra] = positionals;
  if (subcommand !== 'list' && subcommand !== 'show' && subcommand !== 'reprocess') {
    throw new UsageError(
      subcommand === undefined
        ? 'say what to do: list, show or reprocess'
        : `unknown subcommand "${subcommand}"`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (subcommand === 'show' && id === undefined) throw new UsageError('show needs the body hash');
  if (subcommand === 'reprocess' && (id === undefined) === (values.all !== true)) {
    throw new UsageError('reprocess needs one body hash, or --all');
  }
  const policy = values['revision-policy'] ?? 'hold';
  if (!(REVISION_POLICIES as readonly string[]).includes(policy)) {
    throw new UsageError(`--revision-policy must be one of ${REVISION_POLICIES.join(', ')}, got "${policy}"`);
  }

  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  const ops = operationsOf(target);
  const deps = {
    ...ops,
    rejected: ops.store,
    log: silentLog,
    metrics: noMetrics,
    settings: { retentionDays: 90, revisionPolicy: policy as RevisionPolicy },
  };
  try {
    if (subcommand === 'list') {
      const waiting = await listRejectedIpns(deps);
      if (values.json) {
        terminal.out.write(`${JSON.stringify({ target: target.description, rejected: waiting }, null, 2)}\n`);
      } else if (waiting.length === 0) {
        terminal.out.write(`No rejected IPNs waiting in ${target.description}.\n`);
      } else {
        const rows = waiting.map((entry) => [
          entry.receivedAt,
          shortHash(entry.bodySha256),
          String(entry.httpStatus ?? '-'),
          reasons(entry.issues),
        ]);
        terminal.out.write(
          `${formatCount(waiting.length)} rejected IPN${waiting.length === 1 ? '' : 's'} waiting in ${target.description}:\n\n` +
            `${formatTable(['RECEIVED AT', 'BODY SHA-256', 'HTTP', 'REASONS'], rows)}\n\n` +
            'After a fix: npx okepay rejected reprocess HASH (or --all) --dry-run, then without --dry-run\n',
        );
      }
      return 0;
    }
    if (subcommand === 'show') {
      const rejected = await findRejected(deps, id ?? '');
      if (values.json) {
        const { body, ...rest } = rejected;
        terminal.out.write(`${JSON.stringify({ ...rest, body: body.toString('utf8') }, null, 2)}\n`);
        return 0;
      }
      const verdict = checkRejected(rejected);
      terminal.out.write(
        `${[
          `Rejected IPN ${rejected.bodySha256} (${rejected.status})`,
          `  received at       ${rejected.receivedAt} (signature verified; t=${rejected.signatureTimestamp})`,
          `  answered          ${rejected.httpStatus}`,
          `  reasons then      ${reasons(rejected.issues)}`,
          `  today's verdict   ${verdict.result === 'valid' ? `valid: reprocess would store ${verdict.key.paymentId} ${verdict.key.event}` : `still invalid: ${reasons(verdict.result === 'still-invalid' ? verdict.issues : [])}`}`,
          ...(rejected.reprocessedAs
            ? [
                `  reprocessed into  ${rejected.reprocessedAs.paymentId} ${rejected.reprocessedAs.event} at ${rejected.reprocessedAt}`,
              ]
            : []),
          ...(values.body ? ['', rejected.body.toString('utf8')] : []),
        ].join('\n')}\n`,
      );
      return 0;
    }

    const chosen: StoredRejectedIpn[] = values.all
      ? await Promise.all((await listRejectedIpns(deps)).map((entry) => findRejected(deps, entry.bodySha256)))
      : [await findRejected(deps, id ?? '')];
    if (chosen.length === 0) {
      terminal.out.write(`No rejected IPNs waiting in ${target.description}.\n`);
      return 0;
    }
    const verdicts = chosen.map((rejected) => ({ rejected, verdict: checkRejected(rejected) }));
    const valid = verdicts.filter(({ verdict }) => verdict.result === 'valid');
    for (const { rejected, verdict } of verdicts) {
      terminal.out.write(
        `${shortHash(rejected.bodySha256)}  ${verdict.result === 'valid' ? `valid now: ${verdict.key.paymentId} ${verdict.key.event}` : `still invalid: ${reasons(verdict.result === 'still-invalid' ? verdict.issues : [])}`}\n`,
      );
    }
    if (values['dry-run']) {
      terminal.out.write(
        `Dry run, nothing changed: ${valid.length} of ${chosen.length} would be stored and published.\n`,
      );
      return 0;
    }
    if (valid.length === 0) {
      terminal.out.write('Nothing to reprocess: none is valid with the current code.\n');
      return 1;
    }
    const question = `Store and publish ${valid.length} reprocessed IPN${valid.length === 1 ? '' : 's'} in ${target.description}?`;
    if (!(await confirm(terminal, question, values.yes === true))) {
      terminal.out.write('Nothing changed.\n');
      return 1;
    }
    let stored = 0;
    for (const { rejected } of valid) {
      const result = await reprocessRejected(deps, rejected);
      if (result.result === 'stored') {
        stored += 1;
        const outcome = result.outcome;
        const detail =
          outcome.status === 'revision'
            ? `kept as revision ${outcome.revision}${outcome.held ? ' (held: okepay revisions list)' : ''}`
            : outcome.status;
        terminal.out.write(
          `${shortHash(rejected.bodySha256)}  ${result.key.paymentId} ${result.key.event}: ${detail}\n`,
        );
      }
    }
    terminal.out.write(`Reprocessed ${stored} rejected IPN${stored === 1 ? '' : 's'}.\n`);
    return 0;
  } catch (error) {
    if (error instanceof NothingMatchesError || error instanceof WrongStateError) {
      terminal.err.write(`okepay rejected: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    target.destroy();
  }
}

export const run = (argv: string[]): Promise<number> => runRejectedCommand(argv, processTerminal());
