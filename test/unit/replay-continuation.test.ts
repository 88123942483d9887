import { describe, expect, it } from 'vitest';
import {
  type ContinuationDeps,
  type ContinuationInput,
  decideContinuation,
  LEASE_WAIT_MS,
  ReplayContinuationError,
  runAndContinue,
} from '../../functions/replay/continuation.ts';
import { ReplayInProgressError } from '../../functions/replay/errors.ts';
import type { ReplayInvocation } from '../../functions/replay/invocation.ts';
import type { ReplayOutcome } from '../../functions/replay/run-replay.ts';

const REPLAY_ID = 'rp-20260510T124700Z-3fa9c1d2';

const outcome = (extra: Partial<ReplayOutcome> = {}): ReplayOutcome => ({
  replayId: REPLAY_ID,
  requestedAt: '2026-05-10T12:47:00.000Z',
  selection: { since: '2026-05-01T00:00:00.000Z', until: '2026-05-02T00:00:00.000Z' },
  resumed: true,
  selected: 1_000,
  alreadyDone: 200,
  toDo: 800,
  attempted: 300,
  published: 300,
  publishedTotal: 500,
  failures: [],
  complete: false,
  stopped: 'time-budget',
  recorded: true,
  elapsedMs: 840_000,
  ...extra,
});

const invocation = (extra: Partial<ReplayInvocation> = {}): ReplayInvocation => ({
  request: { resume: REPLAY_ID },
  dryRun: false,
  rate: 50,
  continueItself: true,
  chain: 3,
  ...extra,
});

/** A clock that sleeping advances, an invoker that records, and a run that answers from a script. */
function harness(runs: Array<ReplayOutcome | Error>, extra: Partial<ContinuationDeps> = {}) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const invoked: ContinuationInput[] = [];
  let calls = 0;
  const deps: ContinuationDeps = {
    run: async () => {
      const next = runs[Math.min(calls, runs.length - 1)];
      calls += 1;
      if (next instanceof Error) throw next;
      return next as ReplayOutcome;
    },
    invoker: { invokeAsync: async (input) => void invoked.push(input) },
    maxChain: 200,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    stopAt: clock + 840_000,
    ...extra,
  };
  return { deps, sleeps, invoked, runs: () => calls, at: (offset: number) => clock + offset };
}

describe('decideContinuation', () => {
  const limits = { maxChain: 200, canInvoke: true };

  it('continues a run that stopped on its time budget with the next chain number and the same controls', () => {
    expect(decideContinuation(outcome(), invocation({ concurrency: 4 }), limits)).toEqual({
      continue: true,
      input: { resume: REPLAY_ID, rate: 50, concurrency: 4, continue: true, chain: 4 },
    });
  });

  it.each([
    ['a complete replay', outcome({ complete: true, stopped: undefined }), invocation(), limits, undefined],
    [
      'a run stopped by too many failures',
      outcome({ stopped: 'too-many-failures' }),
      invocation(),
      limits,
      undefined,
    ],
    [
      'an input with "continue": false',
      outcome(),
      invocation({ continueItself: false }),
      limits,
      'not-asked',
    ],
    [
      'a function that cannot invoke itself',
      outcome(),
      invocation(),
      { ...limits, canInvoke: false },
      'no-invoker',
    ],
    ['the last run the chain allows', outcome(), invocation({ chain: 200 }), limits, 'chain-limit'],
    ['a run that attempted nothing', outcome({ attempted: 0 }), invocation(), limits, 'no-progress'],
  ])('does not continue %s', (_case, run, input, bounds, reason) => {
    expect(decideContinuation(run, input, bounds)).toEqual({
      continue: false,
      ...(reason ? { reason } : {}),
    });
  });
});

describe('runAndContinue', () => {
  it('invokes the next run and answers continued, without resumeWith', async () => {
    const { deps, invoked } = harness([outcome()]);
    const response = await runAndContinue(invocation({ chain: 1, request: { selection: {} } }), deps);
    expect(invoked).toEqual([{ resume: REPLAY_ID, rate: 50, continue: true, chain: 2 }]);
    expect(response).toMatchObject({
      replayId: REPLAY_ID,
      chain: 1,
      continued: true,
      stopped: 'time-budget',
    });
    expect(response).not.toHaveProperty('resumeWith');
  });

  it('stops at the chain limit and answers with resumeWith and the reason', async () => {
    const { deps, invoked } = harness([outcome()], { maxChain: 3 });
    const response = await runAndContinue(invocation({ chain: 3 }), deps);
    expect(invoked).toEqual([]);
    expect(response).toMatchObject({
      continued: false,
      notContinued: 'chain-limit',
      resumeWith: { resume: REPLAY_ID, rate: 50 },
    });
  });

  it('answers a complete replay without continuing', async () => {
    const { deps, invoked } = harness([outcome({ complete: true, stopped: undefined })]);
    const response = await runAndContinue(invocation(), deps);
    expect(invoked).toEqual([]);
    expect(response).toMatchObject({ complete: true, continued: false, chain: 3 });
    expect(response).not.toHaveProperty('notContinued');
  });

  it('waits for the lease of a run that is still finishing, then runs', async () => {
    const h = harness([]);
    const held = new ReplayInProgressError(REPLAY_ID, new Date(h.at(2_000)).toISOString());
    const { deps, sleeps, invoked } = harness([held, held, outcome()]);
    const response = await runAndContinue(invocation(), deps);
    expect(sleeps.length).toBe(2);
    expect(sleeps.every((ms) => ms >= 250 && ms <= 5_000)).toBe(true);
    expect(response).toMatchObject({ continued: true });
    expect(invoked).toHaveLength(1);
  });

  it('leaves the replay to a run that keeps its lease past the wait, and does not continue', async () => {
    const h = harness([]);
    // The holder renews its lease every second: it always runs another minute.
    const renewed = () => new ReplayInProgressError(REPLAY_ID, new Date(h.at(60_000)).toISOString());
    const { deps, sleeps, invoked, runs } = harness([renewed()]);
    const response = await runAndContinue(invocation(), deps);
    expect(response).toMatchObject({ replayId: REPLAY_ID, continued: false, chain: 3 });
    expect(response).toHaveProperty('leaseHeldUntil');
    expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(LEASE_WAIT_MS);
    expect(runs()).toBeGreaterThan(1);
    expect(invoked).toEqual([]);
  });

  it('tells someone who resumes by hand at once that the replay is running', async () => {
    const held = new ReplayInProgressError(REPLAY_ID, new Date(2_000_000).toISOString());
    const { deps, sleeps } = harness([held]);
    await expect(runAndContinue(invocation({ chain: 1 }), deps)).rejects.toBe(held);
    expect(sleeps).toEqual([]);
  });

  it('fails with the input to resume with when the next run cannot be invoked', async () => {
    const refused = new Error('AccessDeniedException');
    const { deps } = harness([outcome()], {
      invoker: {
        invokeAsync: async () => {
          throw refused;
        },
      },
    });
    const error = await runAndContinue(invocation(), deps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReplayContinuationError);
    expect(error).toMatchObject({
      replayId: REPLAY_ID,
      resumeWith: { resume: REPLAY_ID, rate: 50 },
      cause: refused,
    });
  });

  it('without an invoker (a local call) returns resumeWith, as before', async () => {
    const { deps } = harness([outcome()], { invoker: undefined });
    const response = await runAndContinue(invocation({ chain: 1 }), deps);
    expect(response).toMatchObject({
      continued: false,
      notContinued: 'no-invoker',
      resumeWith: { resume: REPLAY_ID },
    });
  });
});
