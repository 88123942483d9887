/**
 * `--stack`: the target is found through CloudFormation DescribeStacks. A small server on 127.0.0.1
 * answers it as CloudFormation does (AWS Query protocol, XML), reached through the SDK's standard
 * AWS_ENDPOINT_URL_CLOUDFORMATION setting.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget, TargetError } from '../../bin/commands/targets.ts';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const OUTPUTS: Record<string, string> = {
  IpnUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/okepay/ipn',
  TableName: 'okepay-EventsTable-1A2B',
  EventBusName: 'okepay-payments',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/okepay-ipn',
  QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:okepay-ipn',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/okepay-ipn-dlq',
  DeadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:okepay-ipn-dlq',
};

function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(
      ([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`,
    )
    .join('');
  return `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>
<StackName>${name}</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/1</StackId>
<CreationTime>2026-05-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>
<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

let server: Server;
const requests: URLSearchParams[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const params = new URLSearchParams(body);
      requests.push(params);
      const name = params.get('StackName') ?? '';
      response.setHeader('content-type', 'text/xml');
      if (name === 'okepay' || name === 'okepay-old') {
        const outputs = { ...OUTPUTS };
        if (name === 'okepay-old') delete outputs.DeadLetterQueueArn;
        response.end(describeStacksXml(name, outputs));
        return;
      }
      response.statusCode = 400;
      response.end(
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
          `<Message>Stack with id ${name} does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => server.close(resolve));
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
      expect(requests.at(-1)?.get('Action')).toBe('DescribeStacks');
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
