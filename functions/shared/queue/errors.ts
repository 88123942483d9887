/** SQS failed to take a message: the caller must not acknowledge the event it carries. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
  constructor(
    readonly operation: string,
    options: ErrorOptions,
  ) {
    super(`SQS ${operation} failed`, options);
  }
}
