/**
 * The sample subscriber app: `npx cdk synth --app "npx tsx examples/subscriber-stack/app.ts"` from the
 * repository root. Replace the accounts, the bus and the e-mail address with yours before deploying
 * (each stack with credentials for its own account: `npx cdk deploy --app ... Fulfilment`).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FulfilmentStack, RefundsStack } from './subscriber-stacks.ts';

const PIPELINE_ACCOUNT = '111122223333';
const REFUNDS_ACCOUNT = '444455556666';
const REGION = 'eu-west-1';

const app = new App();
new FulfilmentStack(app, 'Fulfilment', {
  env: { account: PIPELINE_ACCOUNT, region: REGION },
  okepayBusName: 'okepay-payments',
  oncallEmail: 'fulfilment-oncall@example.com',
});
new RefundsStack(app, 'Refunds', {
  env: { account: REFUNDS_ACCOUNT, region: REGION },
  okepayBusArn: `arn:aws:events:${REGION}:${PIPELINE_ACCOUNT}:event-bus/okepay-payments`,
  oncallEmail: 'refunds-oncall@example.com',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
