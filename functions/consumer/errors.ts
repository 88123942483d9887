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
