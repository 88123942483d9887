/**
 * cdk-nag's AwsSolutions pack, registered the way bin/app.ts registers it: as a policy-validation
 * plugin, which fails the synth on any finding that is not acknowledged next to its resource.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { type BuildOptions, buildApp } from './stack-builder.ts';

function withNag(options: BuildOptions = {}): ReturnType<typeof buildApp> {
  // With CDK's own template validation too, as `cdk synth` runs both.
  const built = buildApp({ ...options, cloudFormationValidation: true });
  Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
  return built;
}

/** The synth's error message, or '' when it passes. */
function synthError(app: App): string {
  try {
    app.synth();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('cdk-nag AwsSolutions checks', () => {
  it('pass the default stack: every finding is acknowledged with its reason', () => {
    expect(synthError(withNag().app)).toBe('');
  });

  it('pass the stack with the created alarm topic, subscriber accounts and reserved concurrency', () => {
    const { app } = withNag({
      contextSettings: {
        alarmEmails: ['ops@example.com'],
        subscriberAccountIds: ['111111111111'],
        ingestReservedConcurrency: 10,
        consumerReservedConcurrency: 5,
        consumerMaxConcurrency: 5,
      },
    });
    expect(synthError(app)).toBe('');
  });

  it('pass the stack with an existing secret and alarm topic', () => {
    const { app } = withNag({
      contextSettings: {
        webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay-AbCdEf',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      },
    });
    expect(synthError(app)).toBe('');
  });

  it('fail the synth on an unacknowledged finding, naming the rule', () => {
    const { app, stack } = withNag();
    // A queue without TLS enforcement or DLQ: what the checks exist to catch. It also shows the
    // acknowledgements are scoped to their resources, not to the whole stack.
    new Queue(stack, 'Unchecked');
    const message = synthError(app);
    expect(message).toContain('AwsSolutions-SQS3');
    expect(message).toContain('AwsSolutions-SQS4');
    expect(message).toContain('OkePayPipeline/Unchecked');
    expect(message).not.toMatch(/AwsSolutions-(IAM5|APIG4|SMG4)/);
  });
});
