import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  INDEX_PROJECTED_ATTRIBUTES,
  ORDER_REF_INDEX,
  RECEIVED_DAY_INDEX,
  STATE_INDEX,
  STATE_INDEX_PROJECTED_ATTRIBUTES,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from '../../functions/shared/store/table-design.ts';
import { SERVICE_NAMES } from '../../lib/service-names.ts';
import { buildTemplate, directoryWith, logicalIdOf } from './stack-builder.ts';

// No rule files: each audited rule brings a dead-letter queue of its own (payment-event-subscription.test.ts).
const rulesDirectory = directoryWith({});
const template = buildTemplate({ rulesDirectory });
/** One stack with every queue setting changed, so each test below needs no build of its own. */
const custom = buildTemplate({
  rulesDirectory,
  contextSettings: {
    maxReceiveCount: 3,
    consumerTimeoutSeconds: 60,
    maxBatchingWindowSeconds: 20,
    batchSize: 50,
    consumerMaxConcurrency: 50,
  },
});

describe('the events table', () => {
  it('is the only table', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  it('is keyed as table-design.ts says, with string keys', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
      ]),
    });
  });

  it('declares only string attributes', () => {
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
    const definitions: { AttributeType: string }[] = table?.Properties.AttributeDefinitions ?? [];
    expect(new Set(definitions.map((definition) => definition.AttributeType))).toEqual(new Set(['S']));
  });

  it('is billed on demand', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST' });
  });

  it('expires stored events on the TTL attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
  });

  it('has point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is encrypted with the AWS managed key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true } });
  });

  it('is retained when the stack or the resource goes, and protected from deletion', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });

  it.each([ORDER_REF_INDEX, RECEIVED_DAY_INDEX])(
    'has the $name index, projecting the listed attributes',
    (index) => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: Match.arrayWith([
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...INDEX_PROJECTED_ATTRIBUTES] },
          },
        ]),
      });
      // One assertion per key: arrayWith expects its elements in template order.
      for (const key of [index.partitionKey, index.sortKey]) {
        template.hasResourceProperties('AWS::DynamoDB::Table', {
          AttributeDefinitions: Match.arrayWith([{ AttributeName: key, AttributeType: 'S' }]),
        });
      }
    },
  );

  it('has the sparse byState index, projecting what the sweeper and the operator lists read', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: STATE_INDEX.name,
          KeySchema: [
            { AttributeName: STATE_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: STATE_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: [...STATE_INDEX_PROJECTED_ATTRIBUTES],
          },
        },
      ]),
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: STATE_INDEX.partitionKey, AttributeType: 'S' },
      ]),
    });
  });

  it('has no other index', () => {
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
    expect(table?.Properties.GlobalSecondaryIndexes).toHaveLength(3);
    expect(table?.Properties.LocalSecondaryIndexes).toBeUndefined();
  });
});

describe('the IPN queues', () => {
  const dlqId = logicalIdOf(
    template,
    'AWS::SQS::Queue',
    (properties) => properties.RedrivePolicy === undefined,
  );
  const queueId = logicalIdOf(
    template,
    'AWS::SQS::Queue',
    (properties) => properties.RedrivePolicy !== undefined,
  );

  it('are a queue and its dead-letter queue', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('send a message to the DLQ after maxReceiveCount receives (default 5)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('take maxReceiveCount from the settings', () => {
    custom.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
  });

  it.each([
    ['queue', () => queueId],
    ['dead-letter queue', () => dlqId],
  ])('retain the %s when the stack is deleted or the queue replaced', (_, id) => {
    expect(template.findResources('AWS::SQS::Queue')[id()]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keep dead letters 14 days', () => {
    expect(template.findResources('AWS::SQS::Queue')[dlqId]?.Properties.MessageRetentionPeriod).toBe(
      14 * 24 * 3600,
    );
  });

  it.each([
    ['queue', () => queueId],
    ['dead-letter queue', () => dlqId],
  ])('encrypt the %s with SQS-managed keys', (_, id) => {
    expect(template.findResources('AWS::SQS::Queue')[id()]?.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it.each([
    ['queue', () => queueId],
    ['dead-letter queue', () => dlqId],
  ])('deny requests to the %s without TLS', (_, id) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it.each([
    ['the default settings', template, 30],
    ['a 60 s consumer timeout and a 20 s batching window', custom, 60],
  ])(
    'keep messages invisible at least 6 times the consumer timeout, with %s',
    (_, built, consumerTimeout) => {
      const consumer = Object.values(built.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Properties.Environment.Variables.EVENT_BUS_NAME !== undefined,
      );
      expect(consumer?.Properties.Timeout).toBe(consumerTimeout);
      const queue = Object.values(built.findResources('AWS::SQS::Queue')).find(
        (q) => q.Properties.RedrivePolicy,
      );
      expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumerTimeout);
    },
  );
});

describe('the consumer event source', () => {
  it('reads the IPN queue', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IpnQueuesQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^ConsumerFunction') },
    });
  });

  it('reports batch item failures, so only failed messages are retried', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('uses the batch size and batching window settings', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
    });
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 20,
    });
  });

  it('brakes with the event source maximum concurrency, not by throttling the consumer', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    // Reserved concurrency below the maximum would throttle invocations, and a throttled batch counts
    // as a receive of each of its messages: none by default.
    const consumer = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === SERVICE_NAMES.consumer,
    );
    expect(consumer?.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});
