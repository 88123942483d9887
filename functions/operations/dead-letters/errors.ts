/** An SQS call of the DLQ commands failed. */
export class DeadLetterQueueError extends Error {
  override readonly name = 'DeadLetterQueueError';
  constructor(
    readonly operation: string,
    options: ErrorOptions,
  ) {
    const cause = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`SQS ${operation} failed${cause}`, options);
  }
}
