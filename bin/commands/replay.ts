/**
 * `okepay replay`: publishes stored events again, selected by payment, order, time window, type and
 * status, at a set rate, resumable. The domain code is functions/replay/, shared with the replay Lambda.
 */

import { DynamoDbReplayProgressStore } from '../../functions/replay/dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from '../../functions/replay/dynamodb-stored-event-query.ts';
import { InvalidSelectionError } from '../../functions/replay/errors.ts';
import { DEFAULT_RATE, MAX_RATE } from '../../functions/replay/invocation.ts';
import { REPLAY_ID_PATTERN } from '../../functions/replay/replay-id.ts';
import type { ReplayFailure } from '../../functions/replay/replay-progress-store.ts';
import {
  type DryRunOutcome,
  dryRunReplay,
  type ReplayDeps,
  type ReplayOutcome,
  type ReplayRequest,
  type ReplayStart,
  runReplay,
} from '../../functions/replay/run-replay.ts';
import { describeSelection, type SelectionFieldNames } from '../../functions/replay/selection.ts';
import {
  createProgressReporter,
  formatCount,
  formatTable,
  processTerminal,
  type Terminal,
} from '../../functions/replay/terminal.ts';
import { EventBridgeEventBus } from '../../functions/shared/bus/eventbridge-event-bus.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { parseOptions, UsageError } from './command.ts';
import { resolveTarget, TARGET_OPTIONS, TARGET_USAGE, type Target, type TargetValues } from './targets.ts';

export const summary = 'Replay stored events onto the event bus (by payment, order, time window), resumable';

export const usage = `Usage: okepay replay (--local | --stack NAME) SELECTION [options]
       okepay replay (--local | --stack NAME) --resume REPLAY_ID [options]

Publishes stored okePay events again: each one's canonical event exactly as published live (same
detail.eventId), plus detail.replay = { replayId, requestedAt } so subscribers can tell replays apart.

Selection (combine freely; at least one of the first three, or --scan):
  --payment-id ID      events of this payment (repeatable)
  --order-ref REF      events of this order
  --since TIME         received at or after TIME: ISO 8601, 2026-05-10 (00:00 UTC) or 2026-05-10T12:00:00Z
  --until TIME         received before TIME (default: now; never later than now)
  --type TYPE          only events of this type, e.g. payment.succeeded (repeatable)
  --status STATUS      only stored events that are "received" (never published) or "published"
  --scan               allow reading the whole table when nothing above selects by key or index
  --subscriber NAME    only that subscription's rule receives the replayed events (detail.replay.subscriber;
                       subscriptions made with the PaymentEventSubscription construct opt in, see DEPLOY.md);
                       default: every subscriber that takes replays

Options:
  --dry-run            count and list what would be replayed; publish nothing
  --json               print JSON for scripts (the dry-run list, or the summary)
  --rate N             events per second, 0 for no limit. Default: ${DEFAULT_RATE} with --stack (well under the
                       PutEvents quota), no limit with --local
  --resume ID          continue replay ID where it stopped: its recorded selection, each event once

${TARGET_USAGE}

Ctrl-C stops after the batches in flight and prints the command that resumes.

Examples:
  npx okepay replay --local --payment-id pay_8f2k1 --dry-run
  npx okepay replay --local --since 2026-05-10T00:00:00Z --until 2026-05-11T00:00:00Z --rate 50
  npx okepay replay --stack okepay --order-ref ORDER-1042 --type payment.succeeded
  npx okepay replay --local --since 2026-05-10 --subscriber ledger`;

/** The selection flags, shared with `okepay events list`. */
export const SELECTION_OPTIONS = {
  'payment-id': { type: 'string', multiple: true },
  'order-ref': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  type: { type: 'string', multiple: true },
  status: { type: 'string' },
} as const;

const OPTIONS = {
  ...TARGET_OPTIONS,
  ...SELECTION_OPTIONS,
  scan: { type: 'boolean' },
  subscriber: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  rate: { type: 'string' },
  resume: { type: 'string' },
} as const;

export const FLAG_NAMES: SelectionFieldNames = {
  paymentIds: '--payment-id',
  orderRef: '--order-ref',
  since: '--since',
  until: '--until',
  types: '--type',
  status: '--status',
  scan: '--scan',
  subscriber: '--subscriber',
};

type Values = ReturnType<typeof parseOptions<{ args: string[]; options: typeof OPTIONS }>>['values'];

function parseRate(text: string | undefined, target: Target): number {
  if (text === undefined) return target.kind === 'local' ? 0 : DEFAULT_RATE;
  if (!/^\d+$/.test(text) || Number(text) > MAX_RATE) {
    throw new UsageError(
      `--rate must be a whole number of events per second from 0 (no limit) to ${MAX_RATE}`,
    );
  }
  return Number(text);
}

function requestOf(values: Values): ReplayRequest {
  const selectionFlags = (Object.values(FLAG_NAMES) as string[]).filter(
    (flag) => values[flag.slice(2) as keyof Values] !== undefined,
  );
  if (values.resume !== undefined) {
    if (selectionFlags.length > 0) {
      throw new UsageError(
        `--resume continues the recorded selection; leave out ${selectionFlags.join(', ')} (or start a new replay)`,
      );
    }
    if (!REPLAY_ID_PATTERN.test(values.resume)) {
      throw new UsageError(
        `--resume takes a replay id such as rp-20260510T124700Z-3fa9c1d2, got "${values.resume}"`,
      );
    }
    return { resume: values.resume };
  }
  return {
    names: FLAG_NAMES,
    selection: {
      ...(values['payment-id'] ? { paymentIds: values['payment-id'] } : {}),
      ...(values['order-ref'] !== undefined ? { orderRef: values['order-ref'] } : {}),
      ...(values.since !== undefined ? { since: values.since } : {}),
      ...(values.until !== undefined ? { until: values.until } : {}),
      ...(values.type ? { types: values.type } : {}),
      ...(values.status !== undefined ? { status: values.status } : {}),
      ...(values.scan ? { scan: true } : {}),
      ...(values.subscriber !== undefined ? { subscriber: values.subscriber } : {}),
    },
  };
}

/** The command that continues a replay, with the same target flags as this one. */
export function resumeCommand(values: TargetValues & { rate?: string }, replayId: string): string {
  const parts = ['npx okepay replay'];
  if (values.stack) {
    parts.push(`--stack ${values.stack}`);
    if (values.region) parts.push(`--region ${values.region}`);
    if (values.profile) parts.push(`--profile ${values.profile}`);
  } else {
    parts.push('--local');
    if (values['data-dir']) parts.push(`--data-dir ${values['data-dir']}`);
  }
  if (values.rate !== undefined) parts.push(`--rate ${values.rate}`);
  parts.push(`--resume ${replayId}`);
  return parts.join(' ');
}

function printDryRun(terminal: Terminal, target: Target, outcome: DryRunOutcome, json: boolean): void {
  if (json) {
    terminal.out.write(
      `${JSON.stringify({ dryRun: true, target: target.description, ...outcome }, null, 2)}\n`,
    );
    return;
  }
  const count = formatCount(outcome.events.length);
  const head = outcome.replayId
    ? `Dry run of resuming ${outcome.replayId}: ${count} of ${formatCount(outcome.selected)} selected events left to replay`
    : `Dry run: ${count} event${outcome.events.length === 1 ? '' : 's'} would be replayed`;
  terminal.out.write(`${head} on ${target.description}. Nothing was published.\n`);
  terminal.out.write(`Selection: ${describeSelection(outcome.selection)}\n`);
  if (outcome.events.length === 0) return;
  const rows = outcome.events.map((event) => [
    event.receivedAt,
    event.paymentId,
    event.event,
    event.orderRef,
    event.status,
  ]);
  terminal.out.write(
    `\n${formatTable(['RECEIVED AT', 'PAYMENT ID', 'EVENT', 'ORDER REF', 'STATUS'], rows)}\n`,
  );
}

function failureReasons(failures: readonly ReplayFailure[]): string[] {
  const byCode = new Map<string, ReplayFailure[]>();
  for (const failure of failures)
    byCode.set(failure.errorCode, [...(byCode.get(failure.errorCode) ?? []), failure]);
  return [...byCode].map(([code, list]) => {
    const example = list[0] as ReplayFailure;
    return `${code} x${list.length}: ${example.errorMessage} (e.g. ${example.paymentId} ${example.event})`;
  });
}

const STOP_TEXT = {
  interrupted: 'stopped by Ctrl-C',
  'time-budget': 'stopped at its time budget',
  'too-many-failures': 'stopped after too many failures (is the bus refusing events?)',
} as const;

function printSummary(terminal: Terminal, target: Target, outcome: ReplayOutcome, resume: string): void {
  if (outcome.resumed && outcome.toDo === 0 && outcome.complete) {
    terminal.out.write(
      `Replay ${outcome.replayId} was already complete on ${target.description}: nothing left to publish ` +
        `(${formatCount(outcome.publishedTotal)} published in all).\n`,
    );
    return;
  }
  const seconds = outcome.elapsedMs / 1000;
  const perSecond = seconds > 0 ? Math.round(outcome.attempted / seconds) : 0;
  const state = outcome.stopped
    ? STOP_TEXT[outcome.stopped]
    : outcome.failures.length > 0
      ? 'done, with failures'
      : 'complete';
  const lines = [
    `Replay ${outcome.replayId} ${state} on ${target.description}`,
    `  selection  ${describeSelection(outcome.selection)}`,
    `  selected   ${formatCount(outcome.selected)}${outcome.alreadyDone > 0 ? ` (${formatCount(outcome.alreadyDone)} done by earlier runs)` : ''}`,
    `  published  ${formatCount(outcome.published)} in this run${outcome.resumed ? `, ${formatCount(outcome.publishedTotal)} in all` : ''}`,
    `  failed     ${formatCount(outcome.failures.length)}`,
    ...failureReasons(outcome.failures).map((reason) => `             ${reason}`),
    `  took       ${seconds.toFixed(1)} s, ${formatCount(perSecond)} events/s`,
  ];
  if (!outcome.complete || outcome.failures.length > 0) {
    const what = outcome.complete ? 'retry the failed events' : 'continue where it stopped';
    lines.push('', `To ${what} (each event is published once overall):`, `  ${resume}`);
  }
  terminal.out.write(`${lines.join('\n')}\n`);
}

function exitCode(outcome: ReplayOutcome): number {
  if (outcome.stopped === 'interrupted') return 130;
  return outcome.complete && outcome.failures.length === 0 ? 0 : 1;
}

/** `run`, with the terminal given: the tests pass their own. */
export async function runReplayCommand(argv: string[], terminal: Terminal): Promise<number> {
  const { values } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: false });
  if (values['dry-run'] && values.rate !== undefined)
    throw new UsageError('--rate has no effect with --dry-run');
  const request = requestOf(values);
  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  try {
    const rate = parseRate(values.rate, target);
    const deps: ReplayDeps = {
      query: new DynamoDbStoredEventQuery(target.dynamoDb, target.tableName),
      store: new DynamoDbEventStore(target.dynamoDb, target.tableName),
      progress: new DynamoDbReplayProgressStore(target.dynamoDb, target.tableName),
      bus: new EventBridgeEventBus(target.eventBridge, target.eventBusName),
      eventSource: target.eventSource,
      rawOnBus: target.rawOnBus,
      now: Date.now,
    };
    try {
      if (values['dry-run']) {
        printDryRun(terminal, target, await dryRunReplay(request, deps), values.json === true);
        return 0;
      }
      return await replay(terminal, target, values, request, deps, rate);
    } catch (error) {
      if (error instanceof InvalidSelectionError) throw new UsageError(error.problems.join('\n  '));
      throw error;
    }
  } finally {
    target.destroy();
  }
}

async function replay(
  terminal: Terminal,
  target: Target,
  values: Values,
  request: ReplayRequest,
  deps: ReplayDeps,
  rate: number,
): Promise<number> {
  const controller = new AbortController();
  const stopListening = terminal.onInterrupt(() => {
    controller.abort();
    terminal.err.write('\nStopping after the batches in flight (Ctrl-C again to quit at once)...\n');
  });
  const progress = createProgressReporter(terminal.err);
  let started: ReplayStart | undefined;
  try {
    const outcome = await runReplay(request, deps, {
      rate,
      signal: controller.signal,
      onStart(start) {
        started = start;
        const pace = rate === 0 ? 'no rate limit' : `${formatCount(rate)} events/s`;
        const what = start.resumed
          ? `Resuming ${start.replayId}: ${formatCount(start.toDo)} of ${formatCount(start.selected)} selected events left`
          : `Replay ${start.replayId}: ${formatCount(start.selected)} events selected`;
        terminal.err.write(
          `${what}; publishing to ${target.eventBusName} on ${target.description}, ${pace}\n`,
        );
      },
      onProgress(state) {
        progress.update({
          done: state.attempted,
          total: state.toDo,
          failed: state.failed,
          startedAt: state.startedAt,
          now: state.now,
        });
      },
    });
    progress.end();
    const resume = resumeCommand(values, outcome.replayId);
    if (values.json) {
      terminal.out.write(
        `${JSON.stringify(
          {
            target: target.description,
            ...outcome,
            failed: outcome.failures.length,
            ...(outcome.complete && outcome.failures.length === 0 ? {} : { resumeCommand: resume }),
          },
          null,
          2,
        )}\n`,
      );
    } else if (!outcome.recorded) {
      terminal.out.write(
        `Nothing selected (${describeSelection(outcome.selection)}); nothing was published.\n`,
      );
    } else {
      printSummary(terminal, target, outcome, resume);
    }
    return exitCode(outcome);
  } catch (error) {
    progress.end();
    if (started) {
      terminal.err.write(
        `Replay ${started.replayId} failed; its progress is recorded. Once the cause is fixed, resume with:\n` +
          `  ${resumeCommand(values, started.replayId)}\n`,
      );
    }
    throw error;
  } finally {
    stopListening();
  }
}

export const run = (argv: string[]): Promise<number> => runReplayCommand(argv, processTerminal());
