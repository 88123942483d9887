/**
 * A small server on 127.0.0.1 that answers CloudFormation's DescribeStacks as CloudFormation does (AWS
 * Query protocol, XML), so `--stack NAME` finds its resources through the SDK's standard
 * AWS_ENDPOINT_URL_CLOUDFORMATION setting. Unknown stacks get CloudFormation's ValidationError.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

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

export interface FakeCloudFormation {
  url: string;
  requests: URLSearchParams[];
  close(): Promise<void>;
}

export async function startFakeCloudFormation(
  stacks: Record<string, Record<string, string>>,
): Promise<FakeCloudFormation> {
  const requests: URLSearchParams[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const params = new URLSearchParams(body);
      requests.push(params);
      const name = params.get('StackName') ?? '';
      response.setHeader('content-type', 'text/xml');
      const outputs = stacks[name];
      if (outputs) {
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
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
