import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * The Secrets Manager secret holding okePay's webhook secret(s): an existing one when its ARN is
 * given, otherwise a new, empty one that the operator fills with `put-secret-value` (docs/DEPLOY.md).
 */
export function webhookSecret(scope: Construct, id: string, existingArn: string | undefined): ISecret {
  if (existingArn) return Secret.fromSecretCompleteArn(scope, id, existingArn);

  const secret = new Secret(scope, id, {
    description:
      'okePay IPN webhook secret checked by the ingest function: the secret as okePay shows it, or during a rotation a JSON array of secrets ["whsec_new","whsec_old"]. Set it with \'aws secretsmanager put-secret-value\'.',
    // The value was pasted by an operator from okePay's dashboard and is not in any template: a stack
    // deletion (or a replacement) would lose it, and a stack deployed again would answer every IPN
    // with 503 until someone fetched it from okePay again. Kept like the table; delete it by hand.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // Created without a value, as CloudFormation documents for a secret given neither SecretString nor
  // GenerateSecretString. The CDK construct would otherwise generate a random password (a secret
  // okePay does not know); and a placeholder SecretString would let a later change to the template
  // overwrite the secret the operator pasted. Until it is set, ingest answers 503 and okePay retries.
  (secret.node.defaultChild as CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'okePay issues the webhook secret; Secrets Manager cannot rotate it by itself. Rotation is done in ' +
      "okePay's dashboard, and the ingest function accepts several secrets at once so the old and new one " +
      'overlap without downtime (docs/DEPLOY.md, "Rotate the webhook secret").',
  });
  return secret;
}
