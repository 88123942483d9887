import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CHAIN } from '../../functions/replay/continuation-config.ts';
import { SERVICE_NAMES } from '../../lib/service-names.ts';
import { buildTemplate, functionLogicalId, roleStatements } from './stack-builder.ts';

const template = buildTemplate();
const replayId = functionLogicalId(template, SERVICE_NAMES.replay);
const replayFunction = () => template.findResources('AWS::Lambda::Function')[replayId];

describe('the replay function continues a large replay by invoking itself', () => {
  it('may invoke exactly its own function, nothing else', () => {
    const invokes = roleStatements(template, SERVICE_NAMES.replay).filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('lambda:')),
    );
    expect(invokes).toEqual([
      {
        Sid: 'ContinueReplay',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [replayId, 'Arn'] },
      },
    ]);
  });

  it('grants it in a policy the function does not depend on, so there is no circular reference', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const [continuationPolicyId] = Object.entries(policies)
      .filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes('ContinueReplay'))
      .map(([id]) => id);
    expect(continuationPolicyId).toBeDefined();
    expect(replayFunction()?.DependsOn ?? []).not.toContain(continuationPolicyId);
  });

  it(`bounds the chain at ${DEFAULT_MAX_CHAIN} runs through its environment`, () => {
    expect(replayFunction()?.Properties.Environment.Variables).toMatchObject({
      OKEPAY_REPLAY_MAX_CHAIN: String(DEFAULT_MAX_CHAIN),
    });
  });

  it('gives only the replay function that permission', () => {
    for (const service of [SERVICE_NAMES.ingest, SERVICE_NAMES.consumer, SERVICE_NAMES.sweeper]) {
      const actions = roleStatements(template, service).flatMap((statement) => [statement.Action].flat());
      expect(actions.filter((action) => action.startsWith('lambda:'))).toEqual([]);
    }
  });
});
