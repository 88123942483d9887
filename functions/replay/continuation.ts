/**
 * A replay larger than one Lambda run (at most 15 minutes) continues by itself: when a run stops on its
 * time budget, the function invokes itself asynchronously with `{ resume, continue: true, chain: n + 1 }`
 * and returns. Each run resumes the same progress record (REPLAY#<replayId>), so the replay publishes
 * each selected event once however many runs it takes, and `okepay replay --resume ID --dry-run` shows
 * what is left at any time.
 *
 * Why self-invocation and not a Step Functions loop: it needs no other resource, the replay's state is
 * already in the progress record (the loop would only carry the id), and a runbook keeps one thing to
 * invoke. The price is that the chain is invisible outside the record and the logs; the chain bound
 * (OKEPAY_REPLAY_MAX_CHAIN) keeps a bug from looping for ever, and a run that attempted nothing does
 * not continue.
 */
import { ReplayInProgressError } from './errors.ts';
import {
  type ReplayInvocation,
  type ReplayResponse,
  type ResumeInput,
  replayResponse,
  resumeInput,
} from './invocation.ts';
import type { ReplayOutcome } from './run-replay.ts';

/** What a run invokes the function with to continue; `parseReplayInvocation` reads it back. */
export interface ContinuationInput extends ResumeInput {
  continue: true;
  chain: number;
}

/** Starts the next run without waiting for it (the Lambda adapter: lambda-invoker.ts). */
export interface Invoker {
  invokeAsync(input: ContinuationInput): Promise<void>;
}

/**
 * Why a run that ended on its time budget did not continue: the input said `"continue": false`, the
 * function cannot invoke itself (no function name: a local call), the chain reached its bound, or the
 * run attempted nothing (another run would most likely do the same).
 */
export type NotContinuedReason = 'not-asked' | 'no-invoker' | 'chain-limit' | 'no-progress';

export type ContinuationDecision =
  | { continue: true; input: ContinuationInput }
  | { continue: false; reason?: NotContinuedReason };

/** Whether a run continues, and with what input. `reason` is absent when there is nothing to continue. */
export function decideContinuation(
  outcome: Pick<ReplayOutcome, 'replayId' | 'stopped' | 'attempted'>,
  invocation: Pick<ReplayInvocation, 'rate' | 'concurrency' | 'continueItself' | 'chain'>,
  limits: { maxChain: number; canInvoke: boolean },
): ContinuationDecision {
  // Only the time budget calls for another run: after too many failures or an interruption, another
  // run would fail the same way, or was not wanted.
  if (outcome.stopped !== 'time-budget') return { continue: false };
  if (!invocation.continueItself) return { continue: false, reason: 'not-asked' };
  if (!limits.canInvoke) return { continue: false, reason: 'no-invoker' };
  if (invocation.chain >= limits.maxChain) return { continue: false, reason: 'chain-limit' };
  if (outcome.attempted === 0) return { continue: false, reason: 'no-progress' };
  return {
    continue: true,
    input: { ...resumeInput(outcome.replayId, invocation), continue: true, chain: invocation.chain + 1 },
  };
}

export interface ContinuedResponse extends ReplayResponse {
  /** Which run of the replay this was: 1 when invoked from outside, n + 1 for a continuation of run n. */
  chain: number;
  /** This run invoked the next one; `resumeWith` is then absent (the replay is running on). */
  continued: boolean;
  notContinued?: NotContinuedReason;
}

/** A continuation found the replay held by another run past its wait, and left it to that run. */
export interface LeaseHeldResponse {
  replayId: string;
  chain: number;
  continued: false;
  leaseHeldUntil: string;
  message: string;
}

/** The run ended on its time budget and could not invoke the next one; resume with `resumeWith`. */
export class ReplayContinuationError extends Error {
  override readonly name = 'ReplayContinuationError';
  constructor(
    readonly replayId: string,
    readonly resumeWith: ResumeInput,
    options: ErrorOptions,
  ) {
    super(
      `Replay ${replayId} stopped on its time budget and could not invoke its continuation; ` +
        `invoke the function with ${JSON.stringify(resumeWith)} to continue`,
      options,
    );
  }
}

export interface ContinuationDeps {
  /** One run of the replay (runReplay with the invocation's request and options). */
  run: () => Promise<ReplayOutcome>;
  /** Undefined when the function cannot invoke itself. */
  invoker: Invoker | undefined;
  maxChain: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Epoch ms after which a continuation no longer waits for the lease (the run's stop time). */
  stopAt: number;
}

/**
 * How long a continuation waits for the replay's lease. The previous run releases it before it invokes
 * the next one, so this covers an asynchronous retry of a run that timed out (its lease expires 60 s
 * after its last checkpoint) and a duplicate delivery of the continuation event (Lambda's async
 * invocations are at least once): the duplicate waits, sees the lease renewed, and leaves the replay
 * to the run that holds it.
 */
export const LEASE_WAIT_MS = 90_000;
const LEASE_POLL_MIN_MS = 250;
const LEASE_POLL_MAX_MS = 5_000;

/**
 * Runs one invocation of a replay and, when it stops on its time budget, invokes the next run.
 * A continuation (chain > 1) that finds the lease held waits for it rather than failing.
 * @throws ReplayContinuationError when the next run could not be invoked (the progress is recorded).
 */
export async function runAndContinue(
  invocation: ReplayInvocation,
  deps: ContinuationDeps,
): Promise<ContinuedResponse | LeaseHeldResponse> {
  const outcome = await runWaitingForLease(invocation, deps);
  if (outcome instanceof ReplayInProgressError) {
    return {
      replayId: outcome.replayId,
      chain: invocation.chain,
      continued: false,
      leaseHeldUntil: outcome.leaseExpiresAt,
      message: `${outcome.message}; this continuation left the replay to it`,
    };
  }
  const response = replayResponse(outcome, invocation);
  const decision = decideContinuation(outcome, invocation, {
    maxChain: deps.maxChain,
    canInvoke: deps.invoker !== undefined,
  });
  if (!decision.continue) {
    return {
      ...response,
      chain: invocation.chain,
      continued: false,
      ...(decision.reason ? { notContinued: decision.reason } : {}),
    };
  }
  const { resumeWith, ...rest } = response;
  try {
    await deps.invoker?.invokeAsync(decision.input);
  } catch (error) {
    throw new ReplayContinuationError(
      outcome.replayId,
      resumeWith ?? resumeInput(outcome.replayId, invocation),
      {
        cause: error,
      },
    );
  }
  return { ...rest, chain: invocation.chain, continued: true };
}

/** The run's outcome, or the lease error a continuation gave up on. */
async function runWaitingForLease(
  invocation: ReplayInvocation,
  deps: ContinuationDeps,
): Promise<ReplayOutcome | ReplayInProgressError> {
  const giveUpAt = Math.min(deps.now() + LEASE_WAIT_MS, deps.stopAt);
  for (;;) {
    try {
      return await deps.run();
    } catch (error) {
      // Only a continuation waits: someone who resumes by hand is told at once that it is running.
      if (!(error instanceof ReplayInProgressError) || invocation.chain === 1) throw error;
      const untilExpiry = Date.parse(error.leaseExpiresAt) - deps.now() + LEASE_POLL_MIN_MS;
      const wait = Math.min(Math.max(untilExpiry, LEASE_POLL_MIN_MS), LEASE_POLL_MAX_MS);
      if (deps.now() + wait > giveUpAt) return error;
      await deps.sleep(wait);
    }
  }
}
