/** The request body is larger than an IPN can be. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`Body is ${sizeBytes} bytes; an okePay IPN is at most ${limitBytes} bytes`);
  }
}

/** The API Gateway event flagged the body as base64 but it is not valid base64. */
export class InvalidBodyEncodingError extends Error {
  override readonly name = 'InvalidBodyEncodingError';
}

/** The request declares a content type other than JSON. */
export class UnsupportedMediaTypeError extends Error {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor(readonly contentType: string) {
    super(`Content-Type must be application/json, got "${contentType}"`);
  }
}

/**
 * The request was not done within its deadline (an AWS call still pending): answered 503 so okePay
 * retries, while the call may still complete on its own.
 */
export class IngestDeadlineExceededError extends Error {
  override readonly name = 'IngestDeadlineExceededError';
  constructor(readonly deadlineMs: number) {
    super(`The IPN was not stored and enqueued within ${deadlineMs} ms`);
  }
}
