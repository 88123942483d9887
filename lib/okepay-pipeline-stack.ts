import { resolve } from 'node:path';
import { type CfnElement, CfnOutput, Duration, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { DEFAULT_MAX_CHAIN } from '../functions/replay/continuation-config.ts';
import { DEFAULT_RULES_DIR } from '../functions/shared/rules/rule-file.ts';
import { paymentKey, STATE_INDEX } from '../functions/shared/store/table-design.ts';
import { AuditedRules, readRuleFiles } from './audited-rules.ts';
import { EventSchemas, readSchemaFiles } from './event-schemas.ts';
import { createEventsTable } from './events-table.ts';
import { IpnApi } from './ipn-api.ts';
import { IpnQueues } from './ipn-queues.ts';
import { Monitoring } from './monitoring.ts';
import { PaymentEventBus } from './payment-event-bus.ts';
import { PipelineFunction, REPOSITORY_ROOT } from './pipeline-function.ts';
import {
  type PipelineSettings,
  type PipelineSettingsInput,
  resolvePipelineSettings,
  SETTINGS_CONTEXT_KEY,
  visibilityTimeoutSeconds,
} from './pipeline-settings.ts';
import { SERVICE_NAMES } from './service-names.ts';
import { webhookSecret } from './webhook-secret.ts';

export interface OkePayPipelineStackProps extends StackProps {
  /** Settings; each one given here wins over the same key of the cdk.json context `okepay`. */
  readonly settings?: PipelineSettingsInput;
  /** The rule files to deploy; default `events/rules`. */
  readonly rulesDirectory?: string;
  /** The JSON Schemas for the schema registry; default `events/schema`. */
  readonly schemaDirectory?: string;
}

/**
 * The okePay IPN pipeline: API → ingest → table + queue → consumer → event bus → rules, with its
 * secret, alarms and dashboard. The outputs are what the operator and the replay command need.
 */
export class OkePayPipelineStack extends Stack {
  readonly settings: PipelineSettings;

  constructor(scope: Construct, id: string, props: OkePayPipelineStackProps = {}) {
    super(scope, id, {
      description: 'okePay IPN pipeline: verify, store once, buffer, publish on EventBridge',
      ...props,
    });
    const settings = resolvePipelineSettings(this.node.tryGetContext(SETTINGS_CONTEXT_KEY), props.settings);
    this.settings = settings;
    // Read before building anything, so a bad file fails the synth with its own message first.
    const ruleDefinitions = readRuleFiles(props.rulesDirectory ?? DEFAULT_RULES_DIR);
    const schemaFiles = readSchemaFiles(
      props.schemaDirectory ?? resolve(REPOSITORY_ROOT, 'events', 'schema'),
    );
    Tags.of(this).add('application', 'okepay-pipeline');

    const table = createEventsTable(this, 'EventsTable');
    // What detail.raw carries on the bus: the consumer and the replay read the same, so a replayed event
    // shares no more than the live one did.
    const rawOnBus = {
      OKEPAY_RAW_ON_BUS: settings.rawOnBus.mode,
      ...(settings.rawOnBus.mode === 'redact'
        ? { OKEPAY_RAW_REDACT_PATHS: JSON.stringify(settings.rawOnBus.redactPaths) }
        : {}),
    };
    const consumerTimeout = Duration.seconds(settings.consumerTimeoutSeconds);
    const maxBatchingWindow = Duration.seconds(settings.maxBatchingWindowSeconds);
    const queues = new IpnQueues(this, 'IpnQueues', {
      maxReceiveCount: settings.maxReceiveCount,
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(settings)),
    });
    const secret = webhookSecret(this, 'WebhookSecret', settings.webhookSecretArn);
    const events = new PaymentEventBus(this, 'PaymentEvents', {
      eventBusName: settings.eventBusName,
      archiveRetentionDays: settings.archiveRetentionDays,
      subscriberAccountIds: settings.subscriberAccountIds,
    });

    // Each function's role gets, by hand, exactly the actions its code calls: the grant* helpers add
    // more (grantReadWriteData adds Scan, Query, DeleteItem, BatchWriteItem... on the indexes too).
    const ingest = new PipelineFunction(this, 'Ingest', {
      entry: 'functions/ingest/handler.ts',
      description: 'Verifies okePay IPNs, stores each once and queues it',
      serviceName: SERVICE_NAMES.ingest,
      timeout: Duration.seconds(settings.ingestTimeoutSeconds),
      reservedConcurrency: settings.ingestReservedConcurrency,
      settings,
      environment: {
        TABLE_NAME: table.tableName,
        QUEUE_URL: queues.queue.queueUrl,
        OKEPAY_WEBHOOK_SECRET_ARN: secret.secretArn,
        OKEPAY_SIGNATURE_SCHEME: settings.signatureScheme,
        OKEPAY_SIGNATURE_TOLERANCE_SECONDS: String(settings.signatureToleranceSeconds),
        OKEPAY_RETENTION_DAYS: String(settings.eventRetentionDays),
        OKEPAY_DEDUP_RETENTION_DAYS: String(settings.dedupRetentionDays),
        OKEPAY_REVISION_POLICY: settings.revisionPolicy,
        ...(settings.allowedSourceCidrs.length > 0
          ? { OKEPAY_ALLOWED_SOURCE_CIDRS: settings.allowedSourceCidrs.join(',') }
          : {}),
      },
    });
    ingest.role.addToPolicy(
      new PolicyStatement({
        sid: 'StoreIpns',
        effect: Effect.ALLOW,
        // Conditional put of a new IPN (and of its revision or dedup marker), read of the existing one on
        // redelivery, revision count update.
        actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
      }),
    );
    ingest.role.addToPolicy(
      new PolicyStatement({
        sid: 'EnqueueIpns',
        effect: Effect.ALLOW,
        actions: ['sqs:SendMessage'],
        resources: [queues.queue.queueArn],
      }),
    );
    ingest.role.addToPolicy(
      new PolicyStatement({
        sid: 'ReadWebhookSecret',
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretArn],
      }),
    );

    const consumer = new PipelineFunction(this, 'Consumer', {
      entry: 'functions/consumer/handler.ts',
      description: 'Publishes queued okePay IPNs as canonical payment events on the bus',
      serviceName: SERVICE_NAMES.consumer,
      timeout: consumerTimeout,
      reservedConcurrency: settings.consumerReservedConcurrency,
      settings,
      environment: {
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: events.bus.eventBusName,
        EVENT_SOURCE: settings.eventSource,
        ...rawOnBus,
      },
    });
    consumer.role.addToPolicy(
      new PolicyStatement({
        sid: 'ReadAndMarkIpns',
        effect: Effect.ALLOW,
        // Load a batch's stored IPNs, re-read one, mark it published.
        // Query: the payment's other stored events, for the ordering signals (table only, no index).
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
      }),
    );
    consumer.role.addToPolicy(
      new PolicyStatement({
        sid: 'PublishPaymentEvents',
        effect: Effect.ALLOW,
        actions: ['events:PutEvents'],
        resources: [events.bus.eventBusArn],
      }),
    );
    // The event source adds the receive/delete permissions on this queue to the consumer's role.
    consumer.function.addEventSource(
      new SqsEventSource(queues.queue, {
        batchSize: settings.batchSize,
        maxBatchingWindow,
        // The brake on the PutEvents rate: at this many invocations the event source stops starting
        // more and the messages wait in the queue, where reserved concurrency would throttle
        // invocations and count each as a receive towards the DLQ.
        maxConcurrency: settings.consumerMaxConcurrency,
        // The handler answers with the records that failed; only those return to the queue.
        reportBatchItemFailures: true,
      }),
    );

    // Invoked by hand, a runbook or Step Functions with a selection as JSON (docs/REPLAY.md); the same
    // domain code as `npx okepay replay`.
    const replay = new PipelineFunction(this, 'Replay', {
      entry: 'functions/replay/handler.ts',
      description: 'Replays stored okePay events onto the bus; invoke with a selection as JSON',
      serviceName: SERVICE_NAMES.replay,
      // A replay stops starting batches before its budget ends and invokes itself to continue
      // (functions/replay/continuation.ts), or returns the id to resume with.
      timeout: Duration.minutes(15),
      settings,
      environment: {
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: events.bus.eventBusName,
        EVENT_SOURCE: settings.eventSource,
        // At most this many runs chain (about 50 hours): a bug cannot keep a replay invoking itself.
        OKEPAY_REPLAY_MAX_CHAIN: String(DEFAULT_MAX_CHAIN),
        ...rawOnBus,
      },
    });
    // The function invokes itself (AWS_LAMBDA_FUNCTION_NAME) to continue a replay. In a policy of its
    // own: the function depends on its role's default policy, so naming the function's ARN there would
    // be a circular reference; this policy depends on the function instead.
    new Policy(this, 'ReplayContinuation', {
      roles: [replay.role],
      statements: [
        new PolicyStatement({
          sid: 'ContinueReplay',
          effect: Effect.ALLOW,
          actions: ['lambda:InvokeFunction'],
          resources: [replay.function.functionArn],
        }),
      ],
    });
    replay.role.addToPolicy(
      new PolicyStatement({
        sid: 'SelectStoredEvents',
        effect: Effect.ALLOW,
        // Query by payment (table), by order ref and by received day (indexes); Scan only runs when the
        // invocation asks for it explicitly ("scan": true); then read the selected bodies.
        actions: ['dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem', 'dynamodb:GetItem'],
        resources: [table.tableArn, `${table.tableArn}/index/*`],
      }),
    );
    replay.role.addToPolicy(
      new PolicyStatement({
        sid: 'RecordReplayProgress',
        effect: Effect.ALLOW,
        // Writes only the replay's own progress item, never a stored event.
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
      }),
    );
    replay.role.addToPolicy(
      new PolicyStatement({
        sid: 'PublishReplayedEvents',
        effect: Effect.ALLOW,
        actions: ['events:PutEvents'],
        resources: [events.bus.eventBusArn],
      }),
    );
    const tableLogicalId = this.resolve(this.getLogicalId(table.node.defaultChild as CfnElement));
    Validations.of(replay.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${tableLogicalId}.Arn>/index/*]`,
      reason:
        'Replay queries both indexes of the events table (byOrderRef, byReceivedDay); the wildcard covers ' +
        'exactly the indexes of that one table.',
    });

    // Finds stored events still unpublished after the grace period and enqueues them again; publishes
    // the gauges of the items waiting for someone (held revisions, rejected IPNs, stuck events).
    const sweeper = new PipelineFunction(this, 'Sweeper', {
      entry: 'functions/sweeper/handler.ts',
      description: 'Enqueues stored okePay events left unpublished again; reports what waits for an operator',
      serviceName: SERVICE_NAMES.sweeper,
      // One run should end before the next starts; the handler enqueues at most 1,000 items a run.
      timeout: Duration.minutes(Math.min(settings.sweepIntervalMinutes, 5)),
      settings,
      environment: {
        TABLE_NAME: table.tableName,
        QUEUE_URL: queues.queue.queueUrl,
        OKEPAY_SWEEP_GRACE_SECONDS: String(settings.sweepGraceMinutes * 60),
      },
    });
    sweeper.role.addToPolicy(
      new PolicyStatement({
        sid: 'ReadStateIndex',
        effect: Effect.ALLOW,
        // List pending items and count held and rejected ones: the sparse state index only.
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${STATE_INDEX.name}`],
      }),
    );
    sweeper.role.addToPolicy(
      new PolicyStatement({
        sid: 'RecordSweeps',
        effect: Effect.ALLOW,
        // Records sweptAt/sweepCount on a pending stored event; payment items only, never a rejected
        // body or a replay's progress.
        actions: ['dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [paymentKey('*')] } },
      }),
    );
    sweeper.role.addToPolicy(
      new PolicyStatement({
        sid: 'EnqueueStuckIpns',
        effect: Effect.ALLOW,
        actions: ['sqs:SendMessage'],
        resources: [queues.queue.queueArn],
      }),
    );
    // A failed run is not retried by Lambda: the next scheduled run is the retry, and a retry a minute
    // or two later would only overlap it (SweeperErrors alarms on repeated failures).
    sweeper.function.configureAsyncInvoke({ retryAttempts: 0 });
    new Rule(this, 'SweeperSchedule', {
      description: `Runs the okePay sweeper every ${settings.sweepIntervalMinutes} minutes`,
      schedule: Schedule.rate(Duration.minutes(settings.sweepIntervalMinutes)),
      targets: [new LambdaFunction(sweeper.function)],
    });

    const api = new IpnApi(this, 'IpnApi', {
      ingest: ingest.function,
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      logRetention: settings.logRetentionDays,
    });
    const rules = new AuditedRules(this, 'Rules', {
      bus: events.bus,
      definitions: ruleDefinitions,
      logRetention: settings.logRetentionDays,
    });
    const schemas = new EventSchemas(this, 'EventSchemas', schemaFiles);
    const monitoring = new Monitoring(this, 'Monitoring', {
      api: api.api,
      apiThrottledRequests: api.throttledRequests,
      ingest: ingest.function,
      consumer: consumer.function,
      sweeper: sweeper.function,
      queue: queues.queue,
      deadLetterQueue: queues.deadLetterQueue,
      bus: events.bus,
      rules: rules.rules,
      settings,
    });

    // Read by OutputKey (the replay command, docs/DEPLOY.md): keep these ids stable. No exports, so no
    // other stack gets locked to them.
    const outputs: Record<string, { value: string; description: string }> = {
      IpnUrl: { value: api.ipnUrl, description: 'The URL to give okePay for IPN webhooks' },
      EventBusName: {
        value: events.bus.eventBusName,
        description: 'The bus the payment events are published on',
      },
      EventBusArn: { value: events.bus.eventBusArn, description: 'ARN of the payment event bus' },
      EventSource: {
        value: settings.eventSource,
        description: '"source" of the payment events (replay publishes with the same)',
      },
      RawOnBus: {
        // The shape `okepay replay --stack` reads, so a replay from the CLI shares what the stack's own do.
        value: JSON.stringify(
          settings.rawOnBus.mode === 'redact'
            ? { mode: 'redact', paths: settings.rawOnBus.redactPaths }
            : { mode: settings.rawOnBus.mode },
        ),
        description:
          'What detail.raw carries on the bus (rawOnBus setting): all, none, or redact these paths',
      },
      TableName: { value: table.tableName, description: 'DynamoDB table of the stored IPN events' },
      QueueUrl: { value: queues.queue.queueUrl, description: 'SQS queue between ingest and the consumer' },
      QueueArn: {
        value: queues.queue.queueArn,
        description: 'ARN of the IPN queue (DLQ redrive destination)',
      },
      DeadLetterQueueUrl: {
        value: queues.deadLetterQueue.queueUrl,
        description: 'Dead-letter queue of the IPN queue',
      },
      DeadLetterQueueArn: {
        value: queues.deadLetterQueue.queueArn,
        description: 'ARN of the dead-letter queue (DLQ redrive source)',
      },
      WebhookSecretArn: {
        value: secret.secretArn,
        description: "Secrets Manager secret to put okePay's webhook secret in",
      },
      SchemaRegistryName: {
        value: schemas.registry.attrRegistryName,
        description: 'EventBridge schema registry of the payment events',
      },
      ReplayFunctionName: {
        value: replay.function.functionName,
        description: 'Lambda that replays stored events; invoke with a selection as JSON',
      },
      SweeperFunctionName: {
        value: sweeper.function.functionName,
        description: 'Lambda that enqueues stuck stored events again, on a schedule',
      },
      DashboardName: {
        value: monitoring.dashboard.dashboardName,
        description: 'CloudWatch dashboard of the pipeline',
      },
    };
    for (const [key, output] of Object.entries(outputs)) new CfnOutput(this, key, output);
  }
}
