import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, MetricFilter, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../functions/shared/observability.ts';

/** The path okePay posts to. */
export const IPN_PATH = '/okepay/ipn';

/**
 * Requests the API answered 429 (its throttling), counted from the access log: HTTP APIs publish no
 * metric of their own for it. Dimension `ApiId`, so two stacks in one account keep separate counts.
 */
export const THROTTLED_REQUESTS_METRIC = 'ApiThrottledRequests';

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
  apiId: '$context.apiId',
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
  /** Requests answered 429 per 5 minutes (Sum), from the access log. */
  readonly throttledRequests: Metric;

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

    // Every value of the access log is quoted (see ACCESS_LOG_FIELDS), hence the string comparison.
    new MetricFilter(this, 'ThrottledRequestsFilter', {
      logGroup: this.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: METRIC_NAMESPACE,
      metricName: THROTTLED_REQUESTS_METRIC,
      metricValue: '1',
      dimensions: { ApiId: '$.apiId' },
    });
    this.throttledRequests = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: THROTTLED_REQUESTS_METRIC,
      dimensionsMap: { ApiId: this.api.apiId },
      statistic: Stats.SUM,
      period: Duration.minutes(5),
    });

    // The $default stage is served at the API's root, without a stage segment.
    this.ipnUrl = `${this.api.apiEndpoint}${IPN_PATH}`;
  }
}
