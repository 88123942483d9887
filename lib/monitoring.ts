import { Annotations, Duration } from 'aws-cdk-lib';
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
import { METRIC_NAMESPACE, METRICS, SECRET_MATCH_METRICS } from '../functions/shared/observability.ts';
import type { AuditedRule } from './audited-rules.ts';
import type { PipelineSettings } from './pipeline-settings.ts';
import { SERVICE_NAMES } from './service-names.ts';

const PERIOD = Duration.minutes(5);
/** What to do about each alarm is written down here. */
const RUNBOOK = 'docs/DEPLOY.md, "Alarms"';
/** The id of the synth warning given when the alarms notify nobody. */
export const NO_ALARM_DESTINATION_WARNING = '@okepay/pipeline:noAlarmDestination';
/** A 4xx share is only judged over periods with at least this many requests: one 404 is not 100 %. */
export const API_4XX_MIN_REQUESTS = 10;
/** Periods in a row the API's 4xx share must stay above the setting (3 × 5 minutes). */
const API_4XX_PERIODS = 3;
/** Sweeper periods in a row without its gauges before `SweeperNotRunning`. */
const SWEEPER_MISSED_PERIODS = 3;

export interface MonitoringProps {
  readonly api: IHttpApi;
  /** Requests the API answered 429 (from its access log; HTTP APIs have no metric for it). */
  readonly apiThrottledRequests: Metric;
  readonly ingest: IFunction;
  readonly consumer: IFunction;
  readonly sweeper: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly bus: IEventBus;
  readonly rules: readonly AuditedRule[];
  readonly settings: PipelineSettings;
}

interface AlarmOptions {
  /** Default `>=`. */
  readonly comparisonOperator?: ComparisonOperator;
  /** Default 1: the alarm fires on one period over the threshold. */
  readonly evaluationPeriods?: number;
  /**
   * Default NOT_BREACHING: no data means nothing happened, since the counters, FailedInvocations and
   * the SQS metrics of an idle queue are only published when there is something to count.
   */
  readonly treatMissingData?: TreatMissingData;
}

/** A pipeline metric the handlers publish through Powertools (namespace OkePayPipeline). */
function pipelineMetric(metricName: string, service: string, period: Duration = PERIOD): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: Stats.SUM,
    period,
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
    const { api, ingest, consumer, sweeper, queue, deadLetterQueue, bus, settings } = props;
    this.topic = this.alarmTopic(settings);

    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      description: string,
      options: AlarmOptions = {},
    ) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        comparisonOperator:
          options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} What to do: ${RUNBOOK}.`,
      });
      if (this.topic) {
        created.addAlarmAction(new SnsAction(this.topic));
        created.addOkAction(new SnsAction(this.topic));
      }
      this.alarms.push(created);
      return created;
    };

    // The sweeper publishes its gauges once per run. A period at least as long as its interval holds
    // one run or more; IGNORE keeps a gauge alarm in its state across a period that caught no run (a
    // run a little late), instead of flapping to OK and back. Not running at all is its own alarm.
    const sweepPeriod = Duration.minutes(Math.max(5, settings.sweepIntervalMinutes));
    // No labels on the alarms' metrics: a label makes CloudFormation's alarm a metric-math one.
    const gauge = (metricName: string) =>
      pipelineMetric(metricName, SERVICE_NAMES.sweeper, sweepPeriod).with({ statistic: Stats.MAXIMUM });
    const gaugeAlarm = { treatMissingData: TreatMissingData.IGNORE };

    // ---- The queues ----
    const dlqDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: PERIOD,
    });
    alarm(
      'DeadLetterQueueNotEmpty',
      dlqDepth,
      0,
      `IPNs failed to publish ${settings.maxReceiveCount} times and wait in the dead-letter queue; they are ` +
        'stored in the table, but subscribers have not seen them.',
      { comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD },
    );
    const dlqAge = deadLetterQueue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: PERIOD,
    });
    alarm(
      'DeadLetterQueueAge',
      dlqAge,
      settings.deadLetterAgeAlarmHours * 3600,
      `A message has waited ${settings.deadLetterAgeAlarmHours} h in the dead-letter queue. SQS deletes it ` +
        '14 days after it was first sent (as few as 10 days after it reached the DLQ): diagnose and redrive ' +
        'or purge it before then.',
    );

    const oldestMessageAge = queue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: PERIOD,
    });
    alarm(
      'OldestMessageAge',
      oldestMessageAge,
      settings.oldestMessageAlarmSeconds,
      `An IPN has waited at least ${settings.oldestMessageAlarmSeconds} s in the queue: the consumer is failing, ` +
        'throttled or not keeping up, and subscribers see payments late.',
    );

    // ---- The IPN endpoint and ingest ----
    const requests = api.metricCount({ statistic: Stats.SUM, period: PERIOD });
    const serverErrors = api.metricServerError({ statistic: Stats.SUM, period: PERIOD });
    const clientErrors = api.metricClientError({ statistic: Stats.SUM, period: PERIOD });
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
      `At least ${settings.ingest5xxAlarmPercent}% of IPN requests were answered 5xx in 5 minutes: DynamoDB, SQS or ` +
        'Secrets Manager failed, or the webhook secret is not set. okePay retries, but not forever.',
    );
    const clientErrorRate = new MathExpression({
      expression: `IF(requests >= ${API_4XX_MIN_REQUESTS}, 100 * clientErrors / requests, 0)`,
      usingMetrics: { requests, clientErrors },
      period: PERIOD,
      label: 'API 4xx (% of requests)',
    });
    alarm(
      'Api4xxRate',
      clientErrorRate,
      settings.api4xxAlarmPercent,
      `At least ${settings.api4xxAlarmPercent}% of the API's requests were answered 4xx for 15 minutes (400, ` +
        '401, 404, 413, 415, 429): okePay sends what the pipeline refuses, or something else is hitting the URL.',
      { evaluationPeriods: API_4XX_PERIODS },
    );
    alarm(
      'ApiThrottled',
      props.apiThrottledRequests,
      settings.apiThrottledAlarmThreshold,
      `At least ${settings.apiThrottledAlarmThreshold} requests were answered 429 in 5 minutes: the traffic ` +
        'exceeds apiRateLimit/apiBurstLimit. okePay retries, so IPNs arrive late; a flood from elsewhere is ' +
        'held off.',
    );

    const signatureFailures = pipelineMetric(METRICS.signatureFailure, SERVICE_NAMES.ingest);
    alarm(
      'SignatureFailures',
      signatureFailures,
      settings.signatureFailureAlarmThreshold,
      `At least ${settings.signatureFailureAlarmThreshold} IPNs in 5 minutes failed signature verification ` +
        '(401): a wrong or rotated webhook secret, a wrong signature scheme, clock drift, or someone probing.',
    );
    alarm(
      'RejectedIpns',
      pipelineMetric(METRICS.ipnRejected, SERVICE_NAMES.ingest),
      1,
      'A correctly signed IPN was refused by validation (400/415) and kept as rejected: a payment event ' +
        'subscribers will not see until it is reprocessed.',
    );
    alarm(
      'ExpiredDuplicates',
      pipelineMetric(METRICS.ipnExpiredDuplicate, SERVICE_NAMES.ingest),
      1,
      'A request whose body was seen before, and whose stored copy has expired, arrived again: a captured ' +
        'request replayed, or okePay redelivering something very old. It was answered as a duplicate.',
    );

    // ---- Publishing ----
    alarm(
      'ConsumerErrors',
      consumer.metricErrors({ statistic: Stats.SUM, period: PERIOD }),
      1,
      'The consumer function failed whole invocations (a crash, a timeout, a cold-start error; records that ' +
        'fail, even a whole batch of them, are reported per record instead): its messages return to the queue ' +
        'and are retried.',
    );
    alarm(
      'ConsumerThrottles',
      consumer.metricThrottles({ statistic: Stats.SUM, period: PERIOD }),
      1,
      'The consumer function was throttled: publishing is delayed while Lambda concurrency is exhausted.',
    );
    const putEventsFailures = pipelineMetric(METRICS.putEventsFailedEntries, SERVICE_NAMES.consumer);
    alarm(
      'PutEventsFailures',
      putEventsFailures,
      1,
      'EventBridge rejected entries of PutEvents: those IPNs stay unpublished and are retried from the queue.',
    );
    alarm(
      'UnpublishableEvents',
      pipelineMetric(METRICS.unpublishableEvents, SERVICE_NAMES.consumer),
      1,
      'The consumer found stored events that no retry can publish (too large, or refused by EventBridge ' +
        'validation): they are stored, but subscribers will not see them as they are.',
    );

    // ---- Waiting for an operator, and the sweeper ----
    alarm(
      'HeldRevisions',
      gauge(METRICS.heldRevisions),
      1,
      'okePay sent a different body for a payment event already received, and it is held for an operator ' +
        '(revisionPolicy "hold"): release or discard it.',
      gaugeAlarm,
    );
    alarm(
      'RejectedIpnsWaiting',
      gauge(METRICS.rejectedIpnsWaiting),
      1,
      'Correctly signed IPNs refused by validation wait to be reprocessed (okePay does not resend a 400 or ' +
        '415): subscribers have not seen those payment events. Raised until none waits; RejectedIpns ' +
        'notifies each new one.',
      gaugeAlarm,
    );
    alarm(
      'StuckEvents',
      gauge(METRICS.stuckEvents),
      1,
      `Stored events are still unpublished ${settings.sweepGraceMinutes} minutes after they arrived; the ` +
        'sweeper enqueues them again, with backoff, but something keeps them from the bus.',
      gaugeAlarm,
    );
    alarm(
      'SweeperErrors',
      sweeper.metricErrors({ statistic: Stats.SUM, period: sweepPeriod }),
      1,
      'The sweeper failed in two periods in a row: stuck events are not enqueued again and the gauges of ' +
        'held revisions, rejected IPNs and stuck events are stale.',
      { evaluationPeriods: 2 },
    );
    alarm(
      'SweeperNotRunning',
      gauge(METRICS.stuckEvents).with({ statistic: Stats.SAMPLE_COUNT }),
      1,
      `The sweeper has published no gauge for ${SWEEPER_MISSED_PERIODS} periods of ${sweepPeriod.toMinutes()} ` +
        'minutes: it does not run (schedule disabled, function failing before it reports) and the alarms on ' +
        'held revisions and stuck events are blind.',
      {
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: SWEEPER_MISSED_PERIODS,
        // Here no data is the problem itself.
        treatMissingData: TreatMissingData.BREACHING,
      },
    );

    // Each audited rule is a subscription with its own alarms (failed deliveries, its dead-letter queue);
    // they notify the same topic and show with the others.
    for (const { subscription } of props.rules) {
      for (const created of subscription.alarms) {
        if (this.topic) {
          created.addAlarmAction(new SnsAction(this.topic));
          created.addOkAction(new SnsAction(this.topic));
        }
        this.alarms.push(created);
      }
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    const ingestOutcomes = [
      METRICS.ipnAccepted,
      METRICS.ipnDuplicate,
      METRICS.ipnConflict,
      METRICS.ipnRevision,
      METRICS.ipnExpiredDuplicate,
      METRICS.ipnRejected,
      METRICS.signatureFailure,
      METRICS.ingestDependencyFailure,
      METRICS.ipnSourceRefused,
    ].map((name) => pipelineMetric(name, SERVICE_NAMES.ingest));
    const publishOutcomes = [
      METRICS.eventsPublished,
      METRICS.eventsSkipped,
      METRICS.putEventsFailedEntries,
      METRICS.poisonRecords,
      METRICS.unpublishableEvents,
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
        left: [
          requests,
          clientErrors,
          props.apiThrottledRequests.with({ label: 'Answered 429 (throttled)' }),
          serverErrors,
        ],
        right: [api.metricLatency({ statistic: Stats.p(99), period: PERIOD })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Ingest outcomes',
        left: ingestOutcomes,
        // Which configured webhook secret verified each IPN, by position: an old secret whose line stays
        // at zero after a rotation can be retired.
        right: SECRET_MATCH_METRICS.map((name) => pipelineMetric(name, SERVICE_NAMES.ingest)),
        width: 8,
      }),
      lambdaWidget('Ingest function', ingest),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue',
        left: [
          queue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: PERIOD }),
          dlqDepth,
        ],
        right: [oldestMessageAge, dlqAge.with({ label: 'DLQ: age of the oldest message' })],
        width: 8,
      }),
      new GraphWidget({ title: 'Publishing', left: publishOutcomes, width: 8 }),
      lambdaWidget('Consumer function', consumer),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Waiting for an operator (sweeper gauges)',
        left: [gauge(METRICS.heldRevisions), gauge(METRICS.rejectedIpnsWaiting), gauge(METRICS.stuckEvents)],
        width: 8,
      }),
      new GraphWidget({
        title: 'Sweeper',
        left: [pipelineMetric(METRICS.stuckEventsReenqueued, SERVICE_NAMES.sweeper, sweepPeriod)],
        width: 8,
      }),
      lambdaWidget('Sweeper function', sweeper),
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
          title: 'Rules: failed deliveries, and what waits in their dead-letter queues',
          left: props.rules.map(({ definition }) =>
            ruleMetric(bus, definition.name, 'FailedInvocations').with({ label: definition.name }),
          ),
          right: props.rules.map(({ definition, subscription }) =>
            subscription.deadLetterQueue
              .metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: PERIOD })
              .with({ label: `${definition.name} DLQ` }),
          ),
          width: 12,
        }),
      );
    }
  }

  /** The topic the alarms notify: an existing one, a new one, or none (with a synth warning). */
  private alarmTopic(settings: PipelineSettings): ITopic | undefined {
    if (settings.alarmTopicArn) return Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);
    if (settings.alarmEmails.length === 0 && !settings.createAlarmTopic) {
      Annotations.of(this).addWarningV2(
        NO_ALARM_DESTINATION_WARNING,
        'The alarms notify nobody: they only show in CloudWatch and on the dashboard. Set okepay.alarmEmails ' +
          '(e-mail addresses), okepay.alarmTopicArn (an existing SNS topic) or okepay.createAlarmTopic ' +
          '(a topic to subscribe later) in cdk.json (docs/DEPLOY.md, "Settings").',
      );
      return undefined;
    }
    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and the
    // notifications carry alarm names and states, no payment data.
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'okePay pipeline alarms', enforceSSL: true });
    for (const email of settings.alarmEmails) topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}
