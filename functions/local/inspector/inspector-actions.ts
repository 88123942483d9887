/**
 * The inspector's buttons, each the implementation its `okepay` command runs: resend is `okepay events
 * resend` itself; replay is `runReplay` with the deps `okepay replay` builds; release and discard are
 * `findHeldRevision` + `releaseRevision` / `discardRevision`; reprocess is `findRejected` +
 * `reprocessRejected`; redrive is the DLQ adapter's `startRedrive`. The page confirms nothing: a click
 * is the confirmation, as `--yes` is on the command line.
 */
import * as z from 'zod';
import { noMetrics, operationsOf, silentLog } from '../../../bin/commands/attention.ts';
import { UsageError } from '../../../bin/commands/command.ts';
import { runEventsCommand } from '../../../bin/commands/events.ts';
import type { Target } from '../../../bin/commands/targets.ts';
import { REVISION_POLICIES, type RevisionPolicy } from '../../ingest/receive-ipn.ts';
import { SqsDeadLetterQueue } from '../../operations/dead-letters/sqs-dead-letter-queue.ts';
import { NothingMatchesError, WrongStateError } from '../../operations/errors.ts';
import { discardRevision, findHeldRevision, releaseRevision } from '../../operations/held-revisions.ts';
import { findRejected, reprocessRejected } from '../../operations/reprocess-rejected.ts';
import { DynamoDbReplayProgressStore } from '../../replay/dynamodb-replay-progress-store.ts';
import { DynamoDbStoredEventQuery } from '../../replay/dynamodb-stored-event-query.ts';
import { InvalidSelectionError } from '../../replay/errors.ts';
import { type ReplayDeps, runReplay } from '../../replay/run-replay.ts';
import type { Terminal } from '../../replay/terminal.ts';
import { EventBridgeEventBus } from '../../shared/bus/eventbridge-event-bus.ts';
import { DynamoDbEventStore } from '../../shared/store/dynamodb-event-store.ts';
import { ActionRefusedError } from './errors.ts';

export const ACTIONS = ['resend', 'replay', 'release', 'discard', 'reprocess', 'redrive'] as const;
export type ActionName = (typeof ACTIONS)[number];

/** What an action did, in one line for a person, and whether it did it. */
export interface ActionResult {
  ok: boolean;
  message: string;
  [detail: string]: unknown;
}

const paymentId = z.string().min(1).max(256);
const eventType = z.string().min(1).max(128);
const revision = z.number().int().min(1).max(1_000_000);
const SCHEMAS = {
  resend: z.strictObject({ paymentId, event: eventType, revision }),
  replay: z.strictObject({ paymentId, event: eventType.optional() }),
  release: z.strictObject({ paymentId, event: eventType, revision: revision.min(2) }),
  discard: z.strictObject({ paymentId, event: eventType, revision: revision.min(2) }),
  reprocess: z.strictObject({ bodySha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  redrive: z.strictObject({}),
} satisfies Record<ActionName, z.ZodType>;

export interface ActionDeps {
  target: Target;
  dataDir: string;
  secrets: readonly string[];
  env: NodeJS.ProcessEnv;
}

/** A terminal that keeps what a command prints and answers no questions (the commands get --yes). */
function recordingTerminal(env: NodeJS.ProcessEnv): Terminal & { text(): string } {
  const lines: string[] = [];
  const output = { write: (chunk: string) => lines.push(chunk), isTTY: false };
  return {
    out: output,
    err: output,
    interactive: false,
    ask: async () => '',
    onInterrupt: () => () => {},
    env,
    cwd: process.cwd(),
    text: () => lines.join('').trim(),
  };
}

async function resend(input: z.infer<typeof SCHEMAS.resend>, deps: ActionDeps): Promise<ActionResult> {
  // The local secret: the first one the pipeline verifies with, as `okepay events resend` picks it.
  const terminal = recordingTerminal({ OKEPAY_WEBHOOK_SECRETS: JSON.stringify(deps.secrets) });
  const code = await runEventsCommand(
    [
      'resend',
      input.paymentId,
      '--local',
      '--data-dir',
      deps.dataDir,
      '--event',
      input.event,
      '--revision',
      String(input.revision),
      '--yes',
    ],
    terminal,
  );
  return { ok: code === 0, message: `Resent ${input.paymentId} ${input.event}: ${terminal.text()}` };
}

async function replay(input: z.infer<typeof SCHEMAS.replay>, deps: ActionDeps): Promise<ActionResult> {
  const { target } = deps;
  const replayDeps: ReplayDeps = {
    query: new DynamoDbStoredEventQuery(target.dynamoDb, target.tableName),
    store: new DynamoDbEventStore(target.dynamoDb, target.tableName),
    progress: new DynamoDbReplayProgressStore(target.dynamoDb, target.tableName),
    bus: new EventBridgeEventBus(target.eventBridge, target.eventBusName),
    eventSource: target.eventSource,
    now: Date.now,
  };
  const outcome = await runReplay(
    { selection: { paymentIds: [input.paymentId], ...(input.event ? { types: [input.event] } : {}) } },
    replayDeps,
    // As `okepay replay --local`: no rate limit.
    { rate: 0 },
  );
  const what = `${input.paymentId}${input.event ? ` ${input.event}` : ''}`;
  if (!outcome.recorded) return { ok: false, message: `Nothing stored to replay for ${what}` };
  return {
    ok: outcome.failures.length === 0,
    message: `Replay ${outcome.replayId} of ${what}: ${outcome.published} published, ${outcome.failures.length} failed`,
    replayId: outcome.replayId,
    published: outcome.published,
    failed: outcome.failures.length,
  };
}

async function heldRevision(
  action: 'release' | 'discard',
  input: z.infer<typeof SCHEMAS.release>,
  deps: ActionDeps,
): Promise<ActionResult> {
  const operations = operationsOf(deps.target);
  const entry = await findHeldRevision(operations, input);
  const name = `${entry.key.paymentId} ${entry.key.event} revision ${entry.revision}`;
  if (action === 'release') {
    await releaseRevision(operations, entry);
    return { ok: true, message: `Released ${name}: enqueued for publishing` };
  }
  await discardRevision(operations, entry);
  return { ok: true, message: `Discarded ${name}: kept stored, never published` };
}

async function reprocess(input: z.infer<typeof SCHEMAS.reprocess>, deps: ActionDeps): Promise<ActionResult> {
  const operations = operationsOf(deps.target);
  const policy = deps.env.OKEPAY_REVISION_POLICY ?? 'hold';
  const reprocessDeps = {
    ...operations,
    rejected: operations.store,
    log: silentLog,
    metrics: noMetrics,
    settings: {
      retentionDays: 90,
      // The policy the local ingest runs with, so a reprocessed revision is treated as a live one.
      revisionPolicy: ((REVISION_POLICIES as readonly string[]).includes(policy)
        ? policy
        : 'hold') as RevisionPolicy,
    },
  };
  const rejected = await findRejected(reprocessDeps, input.bodySha256);
  const result = await reprocessRejected(reprocessDeps, rejected);
  if (result.result === 'still-invalid') {
    const reasons = result.issues
      .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
      .join('; ');
    return { ok: false, message: `Still invalid, nothing stored: ${reasons}` };
  }
  const outcome = result.outcome;
  const detail =
    outcome.status === 'revision'
      ? `kept as revision ${outcome.revision}${outcome.held ? ' (held)' : ''}`
      : outcome.status;
  return { ok: true, message: `Reprocessed into ${result.key.paymentId} ${result.key.event}: ${detail}` };
}

async function redrive(deps: ActionDeps): Promise<ActionResult> {
  const dlq = new SqsDeadLetterQueue(deps.target.sqs, deps.target);
  const waiting = await dlq.approximateCount();
  if (waiting === 0) return { ok: false, message: 'The DLQ is empty: nothing to redrive' };
  await dlq.startRedrive();
  return { ok: true, message: `Redrive started: about ${waiting} message(s) move back to the queue` };
}

/** Runs one action on checked input; throws ActionRefusedError for what the caller got wrong. */
export async function runAction(name: ActionName, body: unknown, deps: ActionDeps): Promise<ActionResult> {
  const parsed = SCHEMAS[name].safeParse(body);
  if (!parsed.success) throw new ActionRefusedError(`Bad request: ${z.prettifyError(parsed.error)}`, 400);
  try {
    switch (name) {
      case 'resend':
        return await resend(parsed.data as z.infer<typeof SCHEMAS.resend>, deps);
      case 'replay':
        return await replay(parsed.data as z.infer<typeof SCHEMAS.replay>, deps);
      case 'release':
      case 'discard':
        return await heldRevision(name, parsed.data as z.infer<typeof SCHEMAS.release>, deps);
      case 'reprocess':
        return await reprocess(parsed.data as z.infer<typeof SCHEMAS.reprocess>, deps);
      case 'redrive':
        return await redrive(deps);
    }
  } catch (error) {
    if (error instanceof NothingMatchesError)
      throw new ActionRefusedError(error.message, 404, { cause: error });
    if (error instanceof WrongStateError) throw new ActionRefusedError(error.message, 409, { cause: error });
    if (error instanceof UsageError || error instanceof InvalidSelectionError) {
      throw new ActionRefusedError(error.message, 400, { cause: error });
    }
    throw error;
  }
}

/** The DLQ's size and its latest redrive, for the page's header. */
export async function deadLetterStatus(target: Target) {
  const dlq = new SqsDeadLetterQueue(target.sqs, target);
  const [waiting, latestRedrive] = await Promise.all([dlq.approximateCount(), dlq.latestRedrive()]);
  return { waiting, ...(latestRedrive ? { latestRedrive } : {}) };
}
