import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSecretList, type WebhookSecrets, WebhookSecretsUnavailableError } from './webhook-secrets.ts';

/**
 * Webhook secrets from a Secrets Manager secret, cached by Powertools Parameters for `maxAgeSeconds`
 * so a warm function makes one GetSecretValue call a minute, and a rotation takes effect within it.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecrets {
  private readonly provider: SecretsProvider;

  constructor(
    client: SecretsManagerClient,
    private readonly secretArn: string,
    private readonly maxAgeSeconds = 60,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  async current(): Promise<string[]> {
    let value: string | undefined;
    try {
      const raw = await this.provider.get(this.secretArn, { maxAge: this.maxAgeSeconds });
      // A secret stored as binary (SecretBinary) comes back as bytes.
      value = raw === undefined || typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    } catch (error) {
      throw new WebhookSecretsUnavailableError(`Cannot read the webhook secret ${this.secretArn}`, {
        cause: error,
      });
    }
    const secrets = value === undefined ? [] : parseSecretList(value);
    if (secrets.length === 0) {
      throw new WebhookSecretsUnavailableError(
        `The webhook secret ${this.secretArn} is empty. Set it with: aws secretsmanager put-secret-value ` +
          `--secret-id ${this.secretArn} --secret-string '<your okePay webhook secret>'`,
      );
    }
    return secrets;
  }
}
