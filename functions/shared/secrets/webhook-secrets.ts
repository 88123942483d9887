/** Where the webhook secrets come from: several at once during a rotation. */
export interface WebhookSecrets {
  current(): Promise<string[]>;
}

/** The webhook secrets are missing or unreadable: the operator has to act; okePay should retry. */
export class WebhookSecretsUnavailableError extends Error {
  override readonly name = 'WebhookSecretsUnavailableError';
}

/**
 * Parses a secret value: a JSON array of strings, `{"secrets":[...]}`, or a comma-separated list.
 * Surrounding whitespace is dropped; empty entries are ignored.
 */
export function parseSecretList(value: string): string[] {
  const trimmed = value.trim();
  let list: unknown = trimmed.split(',');
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new WebhookSecretsUnavailableError(
        'The webhook secret value looks like JSON but does not parse',
        {
          cause: error,
        },
      );
    }
    list = Array.isArray(parsed) ? parsed : (parsed as { secrets?: unknown }).secrets;
  }
  if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) {
    throw new WebhookSecretsUnavailableError(
      'The webhook secret value must be a comma-separated list, a JSON array of strings, or {"secrets":[...]}',
    );
  }
  return list.map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}

/** Secrets fixed at start-up, from `OKEPAY_WEBHOOK_SECRETS` (development and the local pipeline). */
export class StaticWebhookSecrets implements WebhookSecrets {
  constructor(private readonly secrets: readonly string[]) {}
  async current(): Promise<string[]> {
    return [...this.secrets];
  }
}
