import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRICS } from '../functions/shared/observability.ts';
import type { AuditedRule } from './audited-rules.ts';
import type { PipelineSettings } from './pipeline-settings.ts';
import { SERVICE_NAMES } from './service-names.ts';

const PERIOD = Duration.minutes(5);
/** What to do about each alarm is written down here. */
const RUNBOOK = 'docs/DEPLOY.md, "Alarms"';

export interface MonitoringProps {
  readonly api: IHttpApi;
  readonly ingest: IFunction;
  readonly consumer: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly bus: IEventBus;
  readonly rules: readonly AuditedRule[];
  readonly settings: PipelineSettings;
}

/** A pipeline metric the handlers publish through Powertools (namespace OkePayPipeline). */
function pipelineMetric(metricName: string, service: string): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: Stats.SUM,
    period: PERIOD,
  });
}

/** A rule's permanently failed deliveries; custom-bus metrics carry both EventBusName and RuleName. */
function ruleMetric(bus: IEventBus, ruleName: string, metricName: string): Metric {
  return new Metric({
    namespace: 'AWS/Events',
    metricName,
    dimensionsMap: { EventBusName: bus.eventBusName, RuleName: ruleName },
    statistic: Stats.SUM,
    period: PERIOD,
  });
}

/**
 * The pipeline's alarms (each with what it means and where the runbook is), an optional SNS topic
 * they notify, and one dashboard with the metrics of every stage.
 */
export class Monitoring extends Construct {
  /** Every alarm of the pipeline. */
  readonly alarms: Alarm[] = [];
  readonly topic: ITopic | undefined;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { api, ingest, consumer, queue, deadLetterQueue, bus, settings } = props;
    this.topic = this.alarmTopic(settings);

    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      comparisonOperator: ComparisonOperator,
      description: string,
    ) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: 1,
        // No data means nothing happened: the custom metrics, FailedInvocations and the SQS metrics of
        // an idle queue are only published when there is something to count.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} What to do: ${RUNBOOK}.`,
      });
      if (this.topic) {
        created.addAlarmAction(new SnsAction(this.topic));
        created.addOkAction(new SnsAction(this.topic));
      }
      this.alarms.push(created);
      return created;
    };
    const atLeast = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;

    const dlqDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: PERIOD,
    });
    alarm(
      'DeadLetterQueueNotEmpty',
      dlqDepth,
      0,
      ComparisonOperator.GREATER_THAN_THRESHOLD,
      `IPNs failed to publish ${settings.maxReceiveCount} times and wait in the dead-letter queue; they are ` +
        'stored in the table, but subscribers have not seen them.',
    );

    const requests = api.metricCount({ statistic: Stats.SUM, period: PERIOD });
    const serverErrors = api.metricServerError({ statistic: Stats.SUM, period: PERIOD });
    const serverErrorRate = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period: PERIOD,
      label: 'IPN 5xx (% of requests)',
    });
    alarm(
      'Ingest5xxRate',
      serverErrorRate,
      settings.ingest5xxAlarmPercent,
      atLeast,
      `At least ${settings.ingest5xxAlarmPercent}% of IPN requests were answered 5xx in 5 minutes: DynamoDB, SQS or ` +
        'Secrets Manager failed, or the webhook secret is not set. okePay retries, but not forever.',
    );

    const signatureFailures = pipelineMetric(METRICS.signatureFailure, SERVICE_NAMES.ingest);
    alarm(
      'SignatureFailures',
      signatureFailures,
      settings.signatureFailureAlarmThreshold,
      atLeast,
      `At least ${settings.signatureFailureAlarmThreshold} IPNs in 5 minutes failed signature verification ` +
        '(401): a wrong or rotated webhook secret, a wrong signature scheme, clock drift, or someone probing.',
    );

    alarm(
      'ConsumerErrors',
      consumer.metricErrors({ statistic: Stats.SUM, period: PERIOD }),
      1,
      atLeast,
      'The consumer function failed whole invocations (not single records): its messages return to the ' +
        'queue and are retried.',
    );
    alarm(
      'ConsumerThrottles',
      consumer.metricThrottles({ statistic: Stats.SUM, period: PERIOD }),
      1,
      atLeast,
      'The consumer function was throttled: publishing is delayed while Lambda concurrency is exhausted.',
    );

    const putEventsFailures = pipelineMetric(METRICS.putEventsFailedEntries, SERVICE_NAMES.consumer);
    alarm(
      'PutEventsFailures',
      putEventsFailures,
      1,
      atLeast,
      'EventBridge rejected entries of PutEvents: those IPNs stay unpublished and are retried from the queue.',
    );

    const oldestMessageAge = queue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: PERIOD,
    });
    alarm(
      'OldestMessageAge',
      oldestMessageAge,
      settings.oldestMessageAlarmSeconds,
      atLeast,
      `An IPN has waited at least ${settings.oldestMessageAlarmSeconds} s in the queue: the consumer is failing, ` +
        'throttled or not keeping up, and subscribers see payments late.',
    );

    for (const { definition } of props.rules) {
      alarm(
        `RuleFailedInvocations-${definition.name}`,
        ruleMetric(bus, definition.name, 'FailedInvocations'),
        1,
        atLeast,
        `Rule ${definition.name} could not write matched events to its audit log group.`,
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    const ingestOutcomes = [
      METRICS.ipnAccepted,
      METRICS.ipnDuplicate,
      METRICS.ipnConflict,
      METRICS.ipnRejected,
      METRICS.signatureFailure,
      METRICS.ingestDependencyFailure,
    ].map((name) => pipelineMetric(name, SERVICE_NAMES.ingest));
    const publishOutcomes = [
      METRICS.eventsPublished,
      METRICS.eventsSkipped,
      METRICS.putEventsFailedEntries,
      METRICS.poisonRecords,
    ].map((name) => pipelineMetric(name, SERVICE_NAMES.consumer));
    const lambdaWidget = (title: string, fn: IFunction) =>
      new GraphWidget({
        title,
        left: [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()],
        right: [fn.metricDuration({ statistic: Stats.p(99) })],
        width: 8,
      });

    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'IPN endpoint',
        left: [requests, api.metricClientError({ statistic: Stats.SUM, period: PERIOD }), serverErrors],
        right: [api.metricLatency({ statistic: Stats.p(99), period: PERIOD })],
        width: 8,
      }),
      new GraphWidget({ title: 'Ingest outcomes', left: ingestOutcomes, width: 8 }),
      lambdaWidget('Ingest function', ingest),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue',
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: PERIOD }),
          dlqDepth,
        ],
        right: [oldestMessageAge],
        width: 8,
      }),
      new GraphWidget({ title: 'Publishing', left: publishOutcomes, width: 8 }),
      lambdaWidget('Consumer function', consumer),
    );
    if (props.rules.length > 0) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Rules: matched events',
          left: props.rules.map(({ definition }) =>
            ruleMetric(bus, definition.name, 'MatchedEvents').with({ label: definition.name }),
          ),
          width: 12,
        }),
        new GraphWidget({
          title: 'Rules: failed deliveries',
          left: props.rules.map(({ definition }) =>
            ruleMetric(bus, definition.name, 'FailedInvocations').with({ label: definition.name }),
          ),
          width: 12,
        }),
      );
    }
  }

  /** The topic the alarms notify: an existing one, a new one, or none. */
  private alarmTopic(settings: PipelineSettings): ITopic | undefined {
    if (settings.alarmTopicArn) return Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);
    if (settings.alarmEmails.length === 0 && !settings.createAlarmTopic) return undefined;
    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and the
    // notifications carry alarm names and states, no payment data.
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'okePay pipeline alarms', enforceSSL: true });
    for (const email of settings.alarmEmails) topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}
