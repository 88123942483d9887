/**
 * The CDK app (cdk.json runs it with tsx): `npx cdk synth` works offline, `npx cdk deploy` deploys to the
 * account and Region of your AWS credentials. Settings: the `okepay` object in cdk.json (docs/DEPLOY.md).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PipelineSettingsError } from '../lib/errors.ts';
import { OkePayPipelineStack } from '../lib/okepay-pipeline-stack.ts';

const STACK_NAME_CONTEXT_KEY = 'okepay:stackName';

const app = new App();

const stackName: unknown = app.node.tryGetContext(STACK_NAME_CONTEXT_KEY) ?? 'OkePayPipeline';
if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
  throw new PipelineSettingsError([
    `${STACK_NAME_CONTEXT_KEY} must be a CloudFormation stack name (a letter, then letters, digits and "-", ` +
      `at most 128 characters), got ${JSON.stringify(stackName)}`,
  ]);
}

new OkePayPipelineStack(app, stackName, {
  // The CLI fills these from your AWS configuration when it can; without credentials the account stays
  // unknown and the template account-agnostic, so synth needs no AWS account. A deploy goes to the
  // account and Region the credentials point at.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

// cdk-nag 3 runs as a CDK policy-validation plugin: any unacknowledged finding, warning or error, fails
// the synth. Acknowledgements sit next to the resource they concern, each with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
