/** What the inspector's API refuses to do as asked. */

/** Nothing matches, the item is in the wrong state, or the input is bad: an HTTP 4xx with the message. */
export class ActionRefusedError extends Error {
  override readonly name = 'ActionRefusedError';
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
