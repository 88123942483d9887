/** DynamoDB failed or refused in a way the caller cannot fix by changing its input: retry later. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    readonly operation: string,
    options: ErrorOptions,
  ) {
    super(`DynamoDB ${operation} failed`, options);
  }
}

/** The item a queue message refers to does not exist (expired by TTL, deleted, or a forged message). */
export class StoredEventNotFoundError extends Error {
  override readonly name = 'StoredEventNotFoundError';
  constructor(readonly key: string) {
    super(`No stored event ${key}`);
  }
}
