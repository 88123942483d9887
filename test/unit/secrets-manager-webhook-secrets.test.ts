/**
 * Secrets Manager has no local server here, so these tests stub the SDK client at its transport: a
 * middleware answers GetSecretValue. Everything above it (Powertools' cache, parsing, errors) is real.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretsManagerWebhookSecrets } from '../../functions/shared/secrets/secrets-manager-webhook-secrets.ts';
import {
  parseSecretList,
  WebhookSecretsUnavailableError,
} from '../../functions/shared/secrets/webhook-secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay-webhook-AbCdEf';

function stubbedClient(answer: () => { SecretString?: string } | Error) {
  const client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
  });
  let calls = 0;
  client.middlewareStack.add(
    () => async () => {
      calls += 1;
      const result = answer();
      if (result instanceof Error) throw result;
      return { output: { ...result, $metadata: {} }, response: {} };
    },
    { step: 'finalizeRequest', name: 'stubGetSecretValue', priority: 'low' },
  );
  return { client, calls: () => calls };
}

describe('SecretsManagerWebhookSecrets', () => {
  it('reads a JSON array of secrets and caches it for the TTL', async () => {
    const { client, calls } = stubbedClient(() => ({ SecretString: '["new-secret", "old-secret"]' }));
    const secrets = new SecretsManagerWebhookSecrets(client, ARN, 60);
    await expect(secrets.current()).resolves.toEqual(['new-secret', 'old-secret']);
    await expect(secrets.current()).resolves.toEqual(['new-secret', 'old-secret']);
    expect(calls()).toBe(1);
  });

  it('refuses an empty secret with how to set it', async () => {
    const { client } = stubbedClient(() => ({ SecretString: ' ' }));
    const error = await new SecretsManagerWebhookSecrets(client, ARN).current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookSecretsUnavailableError);
    expect((error as Error).message).toContain('aws secretsmanager put-secret-value');
  });

  it('turns a failed read into WebhookSecretsUnavailableError with the cause', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const { client } = stubbedClient(() => denied);
    const error = await new SecretsManagerWebhookSecrets(client, ARN).current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookSecretsUnavailableError);
    expect(((error as Error).cause as Error).message).toContain('not authorized');
  });
});

describe('parseSecretList', () => {
  it.each([
    ['a single secret', 'whsec_1', ['whsec_1']],
    ['a single secret with a pasted newline', 'whsec_1\n', ['whsec_1']],
    ['a single secret with characters JSON would mind', 'whsec_a"b\\c:d', ['whsec_a"b\\c:d']],
    ['a JSON array', '["a","b"]', ['a', 'b']],
    ['a JSON array of one secret that contains commas', '["whsec_a,b,c"]', ['whsec_a,b,c']],
    ['a JSON array with blank entries', '["a", " ", "b "]', ['a', 'b']],
    ['a JSON object', '{"secrets":["a"]}', ['a']],
    ['nothing', '  ', []],
  ])('reads %s', (_name, value, expected) => {
    expect(parseSecretList(value)).toEqual(expected);
  });

  it('never splits a secret on a comma into two keys: a plain value with a comma is refused', () => {
    expect(() => parseSecretList('whsec_a,whsec_b')).toThrow(
      /contains a comma[\s\S]*JSON array of strings, e\.g\. \["whsec_new","whsec_old"\]/,
    );
  });

  it('gives back a list written with JSON.stringify unchanged', () => {
    const secrets = ['whsec_1', 'with,comma', 'with "quotes"'];
    expect(parseSecretList(JSON.stringify(secrets))).toEqual(secrets);
  });

  it.each(['[1,2]', '{"secret":"a"}', '[not json', 'a, b'])('refuses %s', (value) => {
    expect(() => parseSecretList(value)).toThrow(WebhookSecretsUnavailableError);
  });
});
