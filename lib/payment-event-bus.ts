import { Duration, Stack } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AccountPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * What a subscriber account may do with rules on the bus. AWS's example policy for letting another
 * account manage its own rules ("Example policy: Send events to the same account and restrict
 * updates"), minus Enable/DisableRule, plus ListTargetsByRule, which CloudFormation calls to remove a
 * rule's targets when it updates or deletes a rule (a subscriber deploying with CDK needs it).
 */
export const SUBSCRIBER_RULE_ACTIONS = [
  'events:PutRule',
  'events:PutTargets',
  'events:DeleteRule',
  'events:RemoveTargets',
  'events:DescribeRule',
  'events:ListTargetsByRule',
];

export interface PaymentEventBusProps {
  /** Fixed bus name; CloudFormation generates one when absent. */
  readonly eventBusName?: string;
  /** Days the archive keeps events; 0 keeps them forever. */
  readonly archiveRetentionDays: number;
  /** Accounts allowed to create rules on the bus (each manages only the rules it created). */
  readonly subscriberAccountIds: readonly string[];
}

/** The custom bus the canonical payment events are published on, with an archive of all of them. */
export class PaymentEventBus extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: PaymentEventBusProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: 'Canonical okePay payment events',
    });

    // Every event put on the bus comes from this account: the consumer and replay publish them, and
    // subscriber accounts may only manage rules. So matching the account archives all of them.
    this.bus.archive('Archive', {
      description: 'Every okePay payment event published on the bus, for EventBridge replay',
      eventPattern: { account: [stack.account] },
      retention: props.archiveRetentionDays > 0 ? Duration.days(props.archiveRetentionDays) : undefined,
    });

    const subscriberRules = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${this.bus.eventBusName}/*`,
    });
    for (const accountId of props.subscriberAccountIds) {
      this.bus.addToResourcePolicy(
        new PolicyStatement({
          sid: `SubscriberRules${accountId}`,
          effect: Effect.ALLOW,
          principals: [new AccountPrincipal(accountId)],
          actions: SUBSCRIBER_RULE_ACTIONS,
          resources: [subscriberRules],
          // As AWS documents it: the account may create rules, and change or delete only the rules it
          // created. "IfExists" because a rule that does not exist yet has no creator account.
          conditions: { StringEqualsIfExists: { 'events:creatorAccount': accountId } },
        }),
      );
    }
  }
}
