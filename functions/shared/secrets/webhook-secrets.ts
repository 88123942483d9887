/** Where the webhook secrets come from: several at once during a rotation. */
export interface WebhookSecrets {
  current(): Promise<string[]>;
}

/** The webhook secrets are missing or unreadable: the operator has to act; okePay should retry. */
export class WebhookSecretsUnavailableError extends Error {
  override readonly name = 'WebhookSecretsUnavailableError';
}

/** How a list of secrets is written: a JSON array of strings (what `JSON.stringify(secrets)` gives). */
export const SECRET_LIST_FORMAT = 'a JSON array of strings, e.g. ["whsec_new","whsec_old"]';

/**
 * Parses a webhook secret value, from Secrets Manager or `OKEPAY_WEBHOOK_SECRETS`:
 *
 * - a JSON array of strings is the list (several secrets during a rotation); `{"secrets":[...]}` is read
 *   the same way;
 * - anything else is one secret, taken whole.
 *
 * A comma never separates secrets: an okePay secret may contain one, and splitting it would turn it into
 * two "valid" keys. Because earlier versions read `a,b` as two secrets, a plain value with a comma is
 * refused rather than guessed at: write it as a JSON array (`["a","b"]`, or `["a,b"]` for one secret).
 * Surrounding whitespace is dropped (a pasted newline); empty entries of an array are ignored.
 */
export function parseSecretList(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed === '') return [];
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) {
    if (trimmed.includes(',')) {
      throw new WebhookSecretsUnavailableError(
        'The webhook secret value contains a comma. A plain value is one secret, taken whole, and commas no ' +
          `longer separate secrets: write the list as ${SECRET_LIST_FORMAT}, or a single secret that ` +
          'contains a comma as a one-element array',
      );
    }
    return [trimmed];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    throw new WebhookSecretsUnavailableError(
      `The webhook secret value starts like JSON but does not parse: write the list as ${SECRET_LIST_FORMAT}`,
      { cause: error },
    );
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { secrets?: unknown }).secrets;
  if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) {
    throw new WebhookSecretsUnavailableError(
      `The webhook secret value must be one secret, or ${SECRET_LIST_FORMAT} (or {"secrets":[...]})`,
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
