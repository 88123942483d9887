/** An SQS message that is not a queued IPN reference: it can never succeed and belongs in the DLQ. */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** The bus refused an entry, even after retries inside this invocation's time budget. */
export class PublishFailedError extends Error {
  override readonly name = 'PublishFailedError';
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(`PutEvents failed: ${errorCode}: ${message}`);
  }
}

/** A stored item exists but cannot be read as a stored event (an attribute missing or altered). */
export class UnreadableStoredEventError extends Error {
  override readonly name = 'UnreadableStoredEventError';
  constructor(
    readonly key: string,
    options: ErrorOptions,
  ) {
    super(`Stored event ${key} cannot be read`, options);
  }
}

/** No retry can publish this stored event: its canonical event cannot be built or is refused. */
export class UnpublishableEventError extends Error {
  override readonly name = 'UnpublishableEventError';
  constructor(
    readonly key: string,
    reason: string,
    options: ErrorOptions,
  ) {
    super(`Stored event ${key} cannot be published: ${reason}`, options);
  }
}
