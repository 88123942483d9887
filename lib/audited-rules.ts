import { existsSync } from 'node:fs';
import { ArnFormat, Names, Stack } from 'aws-cdk-lib';
import {
  type CfnRule,
  type IEventBus,
  type IRuleTarget,
  RuleTargetInput,
  type RuleTargetInputProperties,
} from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, ResourcePolicy, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, RootConstruct } from 'constructs';
import {
  type RuleDefinition,
  RuleFileError,
  readRuleDirectories,
} from '../functions/shared/rules/rule-file.ts';
import { PaymentEventSubscriptionError, TooManyRulesError } from './errors.ts';
import { PaymentEventSubscription } from './payment-event-subscription.ts';

/**
 * The rule files of a directory (`events/rules/*.json`), each checked with the same reader the local
 * pipeline uses, which validates the pattern with `validateEventPattern`. A missing directory means no
 * rules; a bad file throws a `RuleFileError` naming the file, which fails the synth.
 */
export function readRuleFiles(directory: string): RuleDefinition[] {
  return existsSync(directory) ? readRuleDirectories([directory]) : [];
}

/**
 * A CloudWatch Logs resource policy holds at most 5,120 characters, about 40 log group ARNs; past this
 * many rules, share log groups or move subscriptions to subscriber stacks (docs/DEPLOY.md).
 */
const MAX_AUDITED_RULES = 30;

/**
 * What an audit log line keeps of an event: its identity, type, amount and status, never `raw`, which
 * carries customer data (e-mail, IP address) that has no business in a log. Only fields whose values
 * cannot break the JSON template are interpolated: payment ids exclude quotes and backslashes, the
 * others are UUIDs, decimals, codes and enums. CloudWatch Logs targets take `{timestamp, message}`.
 */
export const AUDIT_LOG_INPUT = {
  inputPathsMap: {
    time: '$.time',
    type: '$.detail-type',
    busEventId: '$.id',
    eventId: '$.detail.eventId',
    paymentId: '$.detail.paymentId',
    amount: '$.detail.amount.decimal',
    currency: '$.detail.currency',
    status: '$.detail.status',
    replayId: '$.detail.replay.replayId',
  },
  inputTemplate:
    '{"timestamp":<time>,"message":"<type> paymentId=<paymentId> amount=<amount> <currency> status=<status> ' +
    'eventId=<eventId> busEventId=<busEventId> replayId=<replayId>"}',
};

export interface AuditedRule {
  readonly definition: RuleDefinition;
  /** The rule, its audit log target, dead-letter queue and alarms. */
  readonly subscription: PaymentEventSubscription;
  /** Where the rule's matches are written. */
  readonly logGroup: LogGroup;
}

export interface AuditedRulesProps {
  readonly bus: IEventBus;
  readonly definitions: readonly RuleDefinition[];
  readonly logRetention: RetentionDays;
}

/** The input transformer of the audit log target (a CloudWatch Logs target takes `{timestamp, message}`). */
class AuditLogInput extends RuleTargetInput {
  // RuleTargetInput's constructor is protected: the class makes its one instance itself.
  static readonly instance = new AuditLogInput();
  override bind(): RuleTargetInputProperties {
    return AUDIT_LOG_INPUT;
  }
}

/**
 * The logical id CDK gives an element at this construct's path in its stack. The rules were CfnRules at
 * `Rules/<name>` before they became subscriptions; a rule whose logical id changed would be created anew
 * under the same name before the old one is deleted, which fails (or deletes the new one).
 */
function logicalIdAtPathOf(construct: Construct): string {
  const scopes = construct.node.scopes;
  const path = scopes.slice(scopes.indexOf(Stack.of(construct)) + 1).map((scope) => scope.node.id);
  let replica: Construct = new RootConstruct();
  for (const id of path) replica = new Construct(replica, id);
  return Names.nodeUniqueId(replica.node);
}

/**
 * One subscription per rule file, each writing what it matches to its own CloudWatch Logs group: an
 * audit trail of what each subscription saw. Each is a {@link PaymentEventSubscription} named after its
 * file's `name`, taking live events and the replays for every subscriber or for it (`deliver: both`), so
 * `okepay replay --subscriber <name>` refills one audit log. The files' local targets (log, file, http)
 * are for the local pipeline only and are not deployed.
 */
export class AuditedRules extends Construct {
  readonly rules: AuditedRule[];

  constructor(scope: Construct, id: string, props: AuditedRulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.definitions.length > MAX_AUDITED_RULES) {
      throw new TooManyRulesError(props.definitions.length, MAX_AUDITED_RULES);
    }

    this.rules = props.definitions.map((definition) => {
      const logGroup = new LogGroup(this, `${definition.name}-AuditLogs`, { retention: props.logRetention });
      const auditLog: IRuleTarget = {
        bind: () => ({
          // The target takes the log group ARN without the trailing ":*" of LogGroup.logGroupArn.
          arn: stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: logGroup.logGroupName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
          input: AuditLogInput.instance,
        }),
      };
      let subscription: PaymentEventSubscription;
      try {
        subscription = new PaymentEventSubscription(this, definition.name, {
          bus: props.bus,
          name: definition.name,
          description: definition.description || undefined,
          eventPattern: definition.eventPattern,
          deliver: 'both',
          target: auditLog,
          runbook: 'docs/DEPLOY.md, "Alarms"',
          // The pipeline's outputs stay the short list the tools read; the rules are on the dashboard.
          outputs: false,
        });
      } catch (error) {
        if (error instanceof PaymentEventSubscriptionError) {
          throw new RuleFileError(definition.file, [error.message], { cause: error });
        }
        throw error;
      }
      (subscription.rule.node.defaultChild as CfnRule).overrideLogicalId(logicalIdAtPathOf(subscription));
      return { definition, subscription, logGroup };
    });

    if (this.rules.length > 0) {
      // EventBridge writes to CloudWatch Logs under the log groups' resource policy. One policy for all
      // rules, written here instead of by CDK's CloudWatchLogGroup target, which adds a custom-resource
      // Lambda and one policy per rule: CloudWatch Logs allows 10 resource policies per account and
      // Region, so a dozen rule files would fail the deployment.
      const policy = new ResourcePolicy(this, 'AuditLogsPolicy', {
        policyStatements: [
          new PolicyStatement({
            sid: 'EventBridgeWritesRuleAuditLogs',
            principals: [new ServicePrincipal('events.amazonaws.com')],
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resources: this.rules.map(({ logGroup }) => logGroup.logGroupArn),
          }),
        ],
      });
      // So no rule matches before it may write its audit log.
      for (const { subscription } of this.rules) subscription.rule.node.addDependency(policy);
    }
  }
}
