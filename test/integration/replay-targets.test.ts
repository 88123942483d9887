/**
 * `--stack`: the target is found through CloudFormation DescribeStacks. A small server on 127.0.0.1
 * answers it as CloudFormation does (AWS Query protocol, XML), reached through the SDK's standard
 * AWS_ENDPOINT_URL_CLOUDFORMATION setting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget, TargetError } from '../../bin/commands/targets.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from '../helpers/fake-cloudformation.ts';

const OUTPUTS: Record<string, string> = {
  IpnUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/okepay/ipn',
  TableName: 'okepay-EventsTable-1A2B',
  EventBusName: 'okepay-payments',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/okepay-ipn',
  QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:okepay-ipn',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/okepay-ipn-dlq',
  DeadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:okepay-ipn-dlq',
};
const { DeadLetterQueueArn: _dropped, ...OLD_OUTPUTS } = OUTPUTS;

let cloudFormation: FakeCloudFormation;
const saved = { ...process.env };

beforeAll(async () => {
  cloudFormation = await startFakeCloudFormation({ okepay: OUTPUTS, 'okepay-old': OLD_OUTPUTS });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterAll(async () => {
  process.env = saved;
  await cloudFormation.close();
});

describe('resolveTarget --stack', () => {
  it("reads the resources from the stack's outputs, in the Region given", async () => {
    const target = await resolveTarget({ stack: 'okepay', region: 'eu-west-1' });
    try {
      expect(target).toMatchObject({
        kind: 'stack',
        description: 'stack okepay in eu-west-1',
        tableName: 'okepay-EventsTable-1A2B',
        eventBusName: 'okepay-payments',
        eventSource: 'okepay',
        queueArn: OUTPUTS.QueueArn,
        deadLetterQueueUrl: OUTPUTS.DeadLetterQueueUrl,
      });
      expect(await target.dynamoDb.config.region()).toBe('eu-west-1');
      expect(cloudFormation.requests.at(-1)?.get('Action')).toBe('DescribeStacks');
    } finally {
      target.destroy();
    }
  });

  it('says when the stack does not exist', async () => {
    const error = await resolveTarget({ stack: 'nope', region: 'eu-west-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toBe(
      'Stack nope does not exist in eu-west-1; check --stack and --region',
    );
  });

  it('names the outputs a stack lacks', async () => {
    await expect(resolveTarget({ stack: 'okepay-old', region: 'eu-west-1' })).rejects.toThrow(
      /Stack okepay-old has no output DeadLetterQueueArn: is it an okepay-pipeline stack/,
    );
  });
});
