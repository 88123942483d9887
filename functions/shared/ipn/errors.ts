/** Why a request's signature was refused; each value is stable and shown to the caller. */
export type SignatureFailureReason =
  | 'missing_signature'
  | 'malformed_signature'
  | 'timestamp_outside_tolerance'
  | 'no_matching_signature';

export class SignatureVerificationError extends Error {
  override readonly name = 'SignatureVerificationError';
  constructor(
    readonly reason: SignatureFailureReason,
    message: string,
  ) {
    super(message);
  }
}

export interface PayloadIssue {
  /** Where in the payload, e.g. `amount` or `attempts[0].n`; empty for the body as a whole. */
  path: string;
  message: string;
}

/** A signed body that is not a valid okePay IPN: not JSON, not UTF-8, or failing the schema. */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
  constructor(
    readonly issues: PayloadIssue[],
    options?: ErrorOptions,
  ) {
    super(
      `Invalid IPN payload: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      options,
    );
  }
}
