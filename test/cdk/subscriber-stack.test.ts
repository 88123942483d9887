/**
 * The sample subscriber app (examples/subscriber-stack): a same-account and a cross-account
 * subscription synthesize with cdk-nag's AwsSolutions checks and CloudFormation's validation, as
 * `cdk synth` runs them, and select what they say they select.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FulfilmentStack, RefundsStack } from '../../examples/subscriber-stack/subscriber-stacks.ts';
import { matchesEventPattern } from '../../functions/shared/event-pattern-matcher.ts';
import { REPOSITORY_ROOT } from '../../lib/pipeline-function.ts';
import { cdkJsonFeatureFlags } from './stack-builder.ts';

const PIPELINE_ACCOUNT = '111122223333';
const REFUNDS_ACCOUNT = '444455556666';
const REGION = 'eu-west-1';

function buildSample(withChecks: boolean) {
  const app = new App({ context: cdkJsonFeatureFlags(), builtinCloudFormationValidation: withChecks });
  const fulfilment = new FulfilmentStack(app, 'Fulfilment', {
    env: { account: PIPELINE_ACCOUNT, region: REGION },
    okepayBusName: 'okepay-payments',
    oncallEmail: 'fulfilment-oncall@example.com',
  });
  const refunds = new RefundsStack(app, 'Refunds', {
    env: { account: REFUNDS_ACCOUNT, region: REGION },
    okepayBusArn: `arn:aws:events:${REGION}:${PIPELINE_ACCOUNT}:event-bus/okepay-payments`,
    oncallEmail: 'refunds-oncall@example.com',
  });
  if (withChecks) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, fulfilment, refunds };
}

function sample(name: string): { detail: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'events', 'samples', `${name}.json`), 'utf8'));
}

describe('the sample subscriber app', () => {
  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    const { app } = buildSample(true);
    expect(() => app.synth()).not.toThrow();
  });

  const { fulfilment, refunds } = buildSample(false);

  it('subscribes fulfilment in the pipeline’s account directly, to live events and replays', () => {
    expect(fulfilment.subscription.inbox).toBeUndefined();
    Template.fromStack(fulfilment).hasResourceProperties('AWS::Events::Rule', {
      Name: 'fulfilment',
      EventBusName: 'okepay-payments',
    });
    expect(fulfilment.subscription.deliver).toBe('both');
  });

  it('subscribes refunds from its own account through a bus of that account', () => {
    const template = Template.fromStack(refunds);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'refund-notifier',
      EventBusName: `arn:aws:events:${REGION}:${PIPELINE_ACCOUNT}:event-bus/okepay-payments`,
    });
  });

  it.each([
    ['fulfilment', 'payment-succeeded', true],
    ['fulfilment', 'payment-refunded', false],
    ['refunds', 'payment-refunded', false],
  ])('%s selects the %s sample: %s', (team, name, expected) => {
    const subscription = team === 'fulfilment' ? fulfilment.subscription : refunds.subscription;
    expect(matchesEventPattern(subscription.eventPattern, sample(name))).toBe(expected);
  });

  it('refunds takes a EUR refund of 100 or more, and never a replay', () => {
    const refund = sample('payment-refunded');
    const eur = { ...refund, detail: { ...refund.detail, currency: 'EUR', amount: { number: 250 } } };
    const replayed = {
      ...eur,
      detail: { ...eur.detail, replay: { replayId: 'rp-1', subscriber: 'refund-notifier' } },
    };
    expect(matchesEventPattern(refunds.subscription.eventPattern, eur)).toBe(true);
    expect(matchesEventPattern(refunds.subscription.eventPattern, replayed)).toBe(false);
  });
});
