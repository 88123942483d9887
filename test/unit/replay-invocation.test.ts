import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE,
  dryRunResponse,
  InvalidReplayRequestError,
  parseReplayInvocation,
  replayResponse,
} from '../../functions/replay/invocation.ts';
import type { ReplayOutcome } from '../../functions/replay/run-replay.ts';

function problemsOf(input: unknown): string {
  try {
    parseReplayInvocation(input);
  } catch (error) {
    if (error instanceof InvalidReplayRequestError) return error.message;
    throw error;
  }
  throw new Error('the input was accepted');
}

describe('parseReplayInvocation: the replay Lambda input', () => {
  it('takes the same selection as the CLI, with the default rate', () => {
    expect(
      parseReplayInvocation({
        paymentIds: ['pay_1'],
        orderRef: 'ORDER-1',
        since: '2026-05-01',
        until: '2026-05-02',
        types: ['payment.succeeded'],
        status: 'received',
      }),
    ).toEqual({
      request: {
        selection: {
          paymentIds: ['pay_1'],
          orderRef: 'ORDER-1',
          since: '2026-05-01',
          until: '2026-05-02',
          types: ['payment.succeeded'],
          status: 'received',
        },
      },
      dryRun: false,
      rate: DEFAULT_RATE,
      continueItself: true,
      chain: 1,
    });
  });

  it('takes a resume, a dry run and a rate', () => {
    expect(parseReplayInvocation({ resume: 'rp-20260510T124700Z-3fa9c1d2', dryRun: true, rate: 0 })).toEqual({
      request: { resume: 'rp-20260510T124700Z-3fa9c1d2' },
      dryRun: true,
      rate: 0,
      continueItself: true,
      chain: 1,
    });
  });

  it('takes the continuation controls: concurrency, continue and the chain of a resume', () => {
    expect(
      parseReplayInvocation({
        resume: 'rp-20260510T124700Z-3fa9c1d2',
        continue: true,
        chain: 7,
        concurrency: 4,
      }),
    ).toEqual({
      request: { resume: 'rp-20260510T124700Z-3fa9c1d2' },
      dryRun: false,
      rate: DEFAULT_RATE,
      concurrency: 4,
      continueItself: true,
      chain: 7,
    });
    expect(parseReplayInvocation({ orderRef: 'ORDER-1', continue: false })).toMatchObject({
      continueItself: false,
      chain: 1,
    });
  });

  it.each([
    ['a concurrency above the bound', { orderRef: 'ORDER-1', concurrency: 33 }, /concurrency: .*<=32/],
    ['a concurrency of 0', { orderRef: 'ORDER-1', concurrency: 0 }, /concurrency: .*>=1/],
    ['a chain on a new selection', { orderRef: 'ORDER-1', chain: 2 }, /Unrecognized key: "chain"/],
    ['a chain of 0', { resume: 'rp-20260510T124700Z-3fa9c1d2', chain: 0 }, /chain: .*>=1/],
  ])('refuses %s', (_case, input, message) => {
    expect(problemsOf(input)).toMatch(message);
  });

  it.each([
    ['not an object', 'replay everything', /input: /],
    ['a misspelt field', { paymentId: 'pay_1' }, /Unrecognized key: "paymentId"/],
    ['a payment id that is not a list', { paymentIds: 'pay_1' }, /paymentIds: .*array/],
    ['a negative rate', { orderRef: 'ORDER-1', rate: -5 }, /rate: .*>=0/],
    ['a rate that is not whole', { orderRef: 'ORDER-1', rate: 2.5 }, /rate: /],
    ['a status that is not stored', { orderRef: 'ORDER-1', status: 'rejected' }, /status: /],
    ['a malformed replay id', { resume: '../../etc' }, /resume: must be a replay id/],
    ['nothing to select by', {}, /nothing selects events: give paymentIds, orderRef or a time window/],
    ['a date that is not ISO 8601', { since: 'yesterday' }, /since must be ISO 8601/],
    [
      'a resume with a selection',
      { resume: 'rp-1', paymentIds: ['pay_1'] },
      /resume continues the recorded selection; leave out paymentIds/,
    ],
  ])('refuses %s with a clear message', (_name, input, message) => {
    expect(problemsOf(input)).toMatch(message);
  });

  it('names its error so a Step Functions Catch can match it', () => {
    expect(() => parseReplayInvocation({ rate: 'fast' })).toThrow(
      expect.objectContaining({ name: 'InvalidReplayRequestError' }),
    );
  });
});

describe('replayResponse', () => {
  const outcome: ReplayOutcome = {
    replayId: 'rp-1',
    requestedAt: '2026-05-10T12:47:00.000Z',
    selection: { until: '2026-05-10T12:47:00.000Z', orderRef: 'ORDER-1' },
    resumed: false,
    selected: 500,
    alreadyDone: 0,
    toDo: 500,
    attempted: 300,
    published: 299,
    publishedTotal: 299,
    failures: [
      {
        paymentId: 'pay_1',
        event: 'payment.failed',
        orderRef: 'ORDER-1',
        orderKey: 'k',
        errorCode: 'InternalFailure',
        errorMessage: 'x',
      },
    ],
    complete: false,
    stopped: 'time-budget',
    recorded: true,
    elapsedMs: 840_000,
  };

  it('tells the caller how to continue when the time budget ended the run', () => {
    expect(replayResponse(outcome, { rate: 50 })).toMatchObject({
      replayId: 'rp-1',
      selected: 500,
      published: 299,
      failed: 1,
      complete: false,
      stopped: 'time-budget',
      resumeWith: { resume: 'rp-1', rate: 50 },
    });
  });

  it('gives no resumeWith after too many failures, so a loop does not spin on a broken bus', () => {
    expect(
      replayResponse({ ...outcome, stopped: 'too-many-failures' }, { rate: 50 }).resumeWith,
    ).toBeUndefined();
  });

  it('gives no resumeWith when complete', () => {
    const { stopped: _stopped, ...rest } = outcome;
    expect(replayResponse({ ...rest, complete: true, failures: [] }, { rate: 50 })).not.toHaveProperty(
      'resumeWith',
    );
  });
});

describe('dryRunResponse', () => {
  it('lists at most 1,000 events and says when it left some out', () => {
    const events = Array.from({ length: 1_001 }, (_, index) => ({
      paymentId: `pay_${index}`,
      event: 'payment.succeeded',
      orderRef: 'ORDER-1',
      status: 'published',
      receivedAt: '2026-05-10T12:00:00.000Z',
    }));
    const response = dryRunResponse({
      selection: { until: '2026-05-10T12:47:00.000Z', scan: true },
      selected: 1_001,
      alreadyDone: 0,
      events,
    });
    expect(response).toMatchObject({ dryRun: true, selected: 1_001, toDo: 1_001, truncated: true });
    expect(response.events).toHaveLength(1_000);
  });
});
