/** Operations on stored events asked for something that is not there or not in the state they need. */

/** No held revision, rejected IPN or stored event answers to what the operator named. */
export class NothingMatchesError extends Error {
  override readonly name = 'NothingMatchesError';
}

/** The item exists but is not in the state the operation needs (released already, reprocessed...). */
export class WrongStateError extends Error {
  override readonly name = 'WrongStateError';
  constructor(
    message: string,
    readonly currentStatus: string | undefined,
  ) {
    super(message);
  }
}
