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

/** A stored item exists under the key but cannot be read as a stored event (altered by hand, half-written). */
export class UnreadableStoredItemError extends Error {
  override readonly name = 'UnreadableStoredItemError';
  constructor(
    readonly key: string,
    options: ErrorOptions,
  ) {
    super(`The stored item ${key} exists but cannot be read`, options);
  }
}
