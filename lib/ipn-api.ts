import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The path okePay posts to. */
export const IPN_PATH = '/okepay/ipn';

export interface IpnApiProps {
  readonly ingest: IFunction;
  /** Steady-state requests per second before API Gateway answers 429 (okePay retries those). */
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
}

/**
 * One access-log line per request, as JSON for Logs Insights. Every value is quoted: API Gateway writes
 * "-" for a missing number, which unquoted would break the JSON.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
};

/** The HTTP API that receives okePay's IPNs: one route, throttled, access-logged. */
export class IpnApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The full URL to give okePay. */
  readonly ipnUrl: string;

  constructor(scope: Construct, id: string, props: IpnApiProps) {
    super(scope, id);

    this.api = new HttpApi(this, 'Api', {
      description: 'Receives okePay IPN webhooks',
      // The default stage is declared below, to give it throttling and access logs.
      createDefaultStage: false,
    });
    const [route] = this.api.addRoutes({
      path: IPN_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('Ingest', props.ingest),
    });
    if (route) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'okePay cannot send AWS credentials or a token: it signs each IPN with an HMAC of the raw body. ' +
          'The ingest function verifies that signature (constant-time, with a timestamp tolerance) before ' +
          'it writes anything, and answers 401 otherwise. A Lambda authorizer cannot do it: authorizers ' +
          'do not receive the request body.',
      });
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    // The $default stage is served at the API's root, without a stage segment.
    this.ipnUrl = `${this.api.apiEndpoint}${IPN_PATH}`;
  }
}
