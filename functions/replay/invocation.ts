/**
 * The replay Lambda's input and output: the same selection as the CLI, as JSON, for runbooks and Step
 * Functions. A run that reaches the time budget returns `resumeWith`, the input of the next invocation.
 */
import * as z from 'zod';
import { InvalidSelectionError } from './errors.ts';
import { REPLAY_ID_PATTERN } from './replay-id.ts';
import type { ReplayFailure } from './replay-progress-store.ts';
import type { DryRunOutcome, ReplayOutcome, ReplayRequest } from './run-replay.ts';
import { normaliseSelection, replaySelectionSchema } from './selection.ts';
import type { ReplayCandidate } from './stored-event-query.ts';

/**
 * Default events per second: far below the PutEvents quota (400 to 10,000 per second per account,
 * depending on the Region, shared with the live consumer) and the rule invocation quota.
 */
export const DEFAULT_RATE = 100;
export const MAX_RATE = 10_000;
/** A dry run lists at most this many events in its response (Lambda responses are limited to 6 MB). */
export const MAX_LISTED_EVENTS = 1_000;
/** Failures listed in a response; the progress record keeps up to 100. */
const MAX_LISTED_FAILURES = 20;
/**
 * PutEvents batches in flight at once. The rate is the brake on the bus; more batches in flight only
 * help when each request is slow, and past this they would hold more than a page of bodies.
 */
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 32;
/** The highest `chain` an input may carry; the function's own bound (OKEPAY_REPLAY_MAX_CHAIN) is lower. */
export const MAX_CHAIN = 10_000;

const controls = {
  dryRun: z.boolean().optional().describe('Count and list, publish nothing'),
  rate: z
    .number()
    .int()
    .min(0)
    .max(MAX_RATE)
    .optional()
    .describe(`Events per second, 0 = no limit; default ${DEFAULT_RATE}`),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(MAX_CONCURRENCY)
    .optional()
    .describe(`PutEvents batches (10 events each) in flight at once; default ${DEFAULT_CONCURRENCY}`),
  continue: z
    .boolean()
    .optional()
    .describe(
      'When the time budget ends, invoke the function again to continue (default true); false returns resumeWith instead',
    ),
};

export const replayInvocationSchema = z.union([
  z.strictObject({
    resume: z
      .string()
      .regex(REPLAY_ID_PATTERN, 'must be a replay id as returned by an earlier invocation')
      .describe('Continue this replay; its selection is the recorded one'),
    chain: z
      .number()
      .int()
      .min(1)
      .max(MAX_CHAIN)
      .optional()
      .describe('Which run of a self-continuing replay this is (set by the function when it continues)'),
    ...controls,
  }),
  replaySelectionSchema.extend(controls),
]);

export interface ReplayInvocation {
  request: ReplayRequest;
  dryRun: boolean;
  rate: number;
  /** Undefined: run-replay's default. */
  concurrency?: number;
  /** Invoke the function again when the time budget ends. */
  continueItself: boolean;
  /** 1 for an invocation from outside; n + 1 for the continuation of run n. */
  chain: number;
}

/** The Lambda's input does not describe a replay; the message lists each problem. */
export class InvalidReplayRequestError extends Error {
  override readonly name = 'InvalidReplayRequestError';
  constructor(readonly problems: string[]) {
    super(`Invalid replay request: ${problems.join('; ')}`);
  }
}

export function parseReplayInvocation(input: unknown): ReplayInvocation {
  if (typeof input === 'object' && input !== null && 'resume' in input) {
    const selectionFields = Object.keys(input).filter((key) => key in replaySelectionSchema.shape);
    if (selectionFields.length > 0) {
      throw new InvalidReplayRequestError([
        `resume continues the recorded selection; leave out ${selectionFields.join(', ')}`,
      ]);
    }
  }
  const parsed = replayInvocationSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) =>
      // A union reports each alternative's issues; show the ones of the alternative the input meant.
      issue.code === 'invalid_union'
        ? (issue.errors.at(typeof input === 'object' && input !== null && 'resume' in input ? 0 : 1) ?? [])
        : [issue],
    );
    throw new InvalidReplayRequestError(
      issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`),
    );
  }
  const { dryRun, rate, concurrency, continue: continueItself, ...fields } = parsed.data;
  const { chain, ...rest } = { chain: undefined, ...fields };
  if (!('resume' in rest)) {
    // The combination rules (a selector or scan, a window's bounds) are checked now, so that every
    // input problem fails the invocation the same way; the run checks again, and freezes the window.
    try {
      normaliseSelection(rest, new Date());
    } catch (error) {
      if (error instanceof InvalidSelectionError) throw new InvalidReplayRequestError(error.problems);
      throw error;
    }
  }
  const request: ReplayRequest = 'resume' in rest ? { resume: rest.resume } : { selection: rest };
  return {
    request,
    dryRun: dryRun ?? false,
    rate: rate ?? DEFAULT_RATE,
    ...(concurrency !== undefined ? { concurrency } : {}),
    continueItself: continueItself ?? true,
    chain: chain ?? 1,
  };
}

/** The input that continues a replay where a run stopped; what a continuation invokes the function with. */
export interface ResumeInput {
  resume: string;
  rate: number;
  concurrency?: number;
}

export interface ReplayResponse {
  replayId: string;
  selected: number;
  /** Published by this invocation. */
  published: number;
  /** Published by every invocation of this replay. */
  publishedTotal: number;
  /** Attempted and not published so far; a resume retries them. */
  failed: number;
  failures: ReplayFailure[];
  complete: boolean;
  stopped?: string;
  /**
   * The input of the next invocation, when the time budget ended this one and it did not continue
   * itself (continuation.ts).
   */
  resumeWith?: ResumeInput;
}

export function replayResponse(
  outcome: ReplayOutcome,
  controls: { rate: number; concurrency?: number },
): ReplayResponse {
  return {
    replayId: outcome.replayId,
    selected: outcome.selected,
    published: outcome.published,
    publishedTotal: outcome.publishedTotal,
    failed: outcome.failures.length,
    failures: outcome.failures.slice(0, MAX_LISTED_FAILURES),
    complete: outcome.complete,
    ...(outcome.stopped ? { stopped: outcome.stopped } : {}),
    // Only the time budget calls for another invocation: after too many failures, invoking again
    // would fail the same way until the cause is fixed.
    ...(outcome.stopped === 'time-budget' ? { resumeWith: resumeInput(outcome.replayId, controls) } : {}),
  };
}

export function resumeInput(replayId: string, controls: { rate: number; concurrency?: number }): ResumeInput {
  return {
    resume: replayId,
    rate: controls.rate,
    ...(controls.concurrency !== undefined ? { concurrency: controls.concurrency } : {}),
  };
}

export interface DryRunResponse {
  dryRun: true;
  replayId?: string;
  selected: number;
  alreadyDone: number;
  toDo: number;
  events: ReplayCandidate[];
  truncated: boolean;
}

export function dryRunResponse(outcome: DryRunOutcome): DryRunResponse {
  return {
    dryRun: true,
    ...(outcome.replayId ? { replayId: outcome.replayId } : {}),
    selected: outcome.selected,
    alreadyDone: outcome.alreadyDone,
    toDo: outcome.events.length,
    events: outcome.events.slice(0, MAX_LISTED_EVENTS),
    truncated: outcome.events.length > MAX_LISTED_EVENTS,
  };
}
