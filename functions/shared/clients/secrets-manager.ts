import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientSettings } from './request-handler.ts';

/**
 * The process's one SecretsManagerClient, built at module scope so a warm Lambda reuses its connections.
 * Its endpoint comes from the SDK's own settings (`AWS_ENDPOINT_URL` and the per-service variants),
 * which is how the local pipeline points it at 127.0.0.1. Its timeouts and attempts are
 * `clientSettings.secretsManager` (request-handler.ts, with the time budget of each function that uses it).
 */
export const secretsManagerClient = new SecretsManagerClient(clientSettings.secretsManager);
