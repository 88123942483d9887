/** Errors of the replay and the DLQ commands; each says what to change. */

/** The selection (flags, or the Lambda's input) is not one the replay can run. */
export class InvalidSelectionError extends Error {
  override readonly name = 'InvalidSelectionError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** `--resume` named a replay that has no progress record (never started, a typo, or expired by TTL). */
export class ReplayNotFoundError extends Error {
  override readonly name = 'ReplayNotFoundError';
  constructor(readonly replayId: string) {
    super(
      `No replay ${replayId} in the table: check the id (it is printed when a replay stops), ` +
        'or start a new replay with the same selection',
    );
  }
}

/**
 * Another process holds the replay's lease: it is running, or it was killed less than a lease ago.
 * Running both would publish the same events twice.
 */
export class ReplayInProgressError extends Error {
  override readonly name = 'ReplayInProgressError';
  constructor(
    readonly replayId: string,
    readonly leaseExpiresAt: string,
  ) {
    super(
      `Replay ${replayId} is being run by another process (its lease runs until ${leaseExpiresAt}). ` +
        'Stop that one, or wait until the lease has expired, then resume',
    );
  }
}

/** This process lost the replay's lease (it expired and another process took it over): stop publishing. */
export class ReplayLeaseLostError extends Error {
  override readonly name = 'ReplayLeaseLostError';
  constructor(
    readonly replayId: string,
    options?: ErrorOptions,
  ) {
    super(`Replay ${replayId} was taken over by another process; this one stopped`, options);
  }
}

/** The replay's progress record could not be read or written. */
export class ReplayProgressUnavailableError extends Error {
  override readonly name = 'ReplayProgressUnavailableError';
  constructor(
    readonly operation: string,
    options: ErrorOptions,
  ) {
    super(`DynamoDB ${operation} of the replay progress failed`, options);
  }
}

/** A selection query or scan failed. */
export class SelectionQueryError extends Error {
  override readonly name = 'SelectionQueryError';
  constructor(
    readonly operation: string,
    options: ErrorOptions,
  ) {
    super(`DynamoDB ${operation} while selecting events failed`, options);
  }
}
