import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE } from '../../functions/shared/observability.ts';
import { THROTTLED_REQUESTS_METRIC } from '../../lib/ipn-api.ts';
import { buildTemplate } from './stack-builder.ts';

const existingSecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay-webhook-AbCdEf';
const template = buildTemplate();
/** Throttling changed and an existing secret, built once for the tests below. */
const custom = buildTemplate({
  contextSettings: { apiRateLimit: 5, apiBurstLimit: 10, webhookSecretArn: existingSecretArn },
});

describe('the IPN API', () => {
  it('is one HTTP API with one route, POST /okepay/ipn, to the ingest function', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /okepay/ipn' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestFunction'), 'Arn'] },
    });
  });

  it('lets API Gateway invoke the ingest function for that route only', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith(['/*/*/okepay/ipn'])] },
    });
  });

  it('throttles the default stage with the rate and burst settings', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('counts the requests it answers 429 from its access log, per API', () => {
    template.resourceCountIs('AWS::Logs::MetricFilter', 1);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('^IpnApiAccessLogs') },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        {
          MetricNamespace: METRIC_NAMESPACE,
          MetricName: THROTTLED_REQUESTS_METRIC,
          MetricValue: '1',
          Dimensions: [{ Key: 'ApiId', Value: '$.apiId' }],
        },
      ],
    });
  });

  it('writes JSON access logs, with the request id, to its log group', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage?.Properties.AccessLogSettings;
    expect(settings.DestinationArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^IpnApiAccessLogs/), 'Arn'],
    });
    expect(JSON.parse(settings.Format)).toMatchObject({
      apiId: '$context.apiId',
      requestId: '$context.requestId',
      status: '$context.status',
    });
  });
});

describe('the webhook secret', () => {
  it('is created empty: no value in the template, none generated', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
  });

  it('is retained when the stack is deleted or the secret replaced: it holds what the operator pasted', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('is not created when an existing one is given, and ingest reads that one', () => {
    const arn = existingSecretArn;
    const imported = custom;
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OKEPAY_WEBHOOK_SECRET_ARN: arn }) },
    });
    imported.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadWebhookSecret',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: arn,
          },
        ]),
      },
    });
  });

  it('is readable by the ingest role only', () => {
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).some((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
      ),
    );
    expect(readers).toHaveLength(1);
    expect(readers[0]?.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^IngestRole/) }]);
  });
});
