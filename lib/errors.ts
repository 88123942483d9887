/** Errors that stop `cdk synth`: each says what to change, and where. */

/** One or more settings (cdk.json context `okepay`, or stack props) are invalid. */
export class PipelineSettingsError extends Error {
  override readonly name = 'PipelineSettingsError';
  constructor(readonly problems: string[]) {
    super(`Invalid okePay pipeline settings:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A file of `events/schema/` cannot become an EventBridge schema. */
export class SchemaFileError extends Error {
  override readonly name = 'SchemaFileError';
  constructor(
    readonly file: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`Invalid event schema file ${file}: ${problem}`, options);
  }
}

/** More rule files than one audit-log resource policy can cover. */
export class TooManyRulesError extends Error {
  override readonly name = 'TooManyRulesError';
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(
      `${count} rule files, but the stack audits at most ${limit} rules (one CloudWatch Logs resource policy ` +
        'lists their log groups): deploy the other subscriptions from their own stacks (docs/DEPLOY.md, "Subscribe").',
    );
  }
}

/** A `PaymentEventSubscription` (or the pattern built for it) cannot be created as given. */
export class PaymentEventSubscriptionError extends Error {
  override readonly name = 'PaymentEventSubscriptionError';
  constructor(
    readonly subscription: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`Invalid payment event subscription ${JSON.stringify(subscription)}: ${problem}`, options);
  }
}

/** A subscription's event pattern cannot be built as given; each problem says what to change. */
export class PaymentEventPatternError extends Error {
  override readonly name = 'PaymentEventPatternError';
  constructor(readonly problems: string[]) {
    super(`Invalid payment event pattern:\n  - ${problems.join('\n  - ')}`);
  }
}
