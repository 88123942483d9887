import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import {
  INDEX_PROJECTED_ATTRIBUTES,
  ORDER_REF_INDEX,
  RECEIVED_DAY_INDEX,
  STATE_INDEX,
  STATE_INDEX_PROJECTED_ATTRIBUTES,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from '../functions/shared/store/table-design.ts';

/**
 * The stored IPN events (dedup keys, raw bodies, publish status). Its keys come from the same module
 * the DynamoDB adapter and the local provisioning use, so the three cannot drift apart.
 */
export function createEventsTable(scope: Construct, id: string): Table {
  const table = new Table(scope, id, {
    partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
    sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
    // Webhook traffic is bursty and usually small: on-demand costs nothing when idle and never throttles
    // a burst the way an under-provisioned table would.
    billingMode: BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: TTL_ATTRIBUTE,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // The AWS managed key (aws/dynamodb) rather than an AWS owned one: its use shows in CloudTrail.
    encryption: TableEncryption.AWS_MANAGED,
    // These are records of money movements: deleting the stack, or the table by hand, must not take
    // them with it. Deletion protection has to be switched off deliberately first.
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
  });
  for (const index of [ORDER_REF_INDEX, RECEIVED_DAY_INDEX]) {
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      // Enough to list and filter events without reading the bodies, which stay in the base table.
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...INDEX_PROJECTED_ATTRIBUTES],
    });
  }
  // Sparse: only items that wait for something (pending, held, rejected) carry `stateKey`, so the
  // sweeper, the gauges and the operator's lists read a few items instead of the whole table.
  // Items stored before this index existed have no `stateKey` and are not in it.
  table.addGlobalSecondaryIndex({
    indexName: STATE_INDEX.name,
    partitionKey: { name: STATE_INDEX.partitionKey, type: AttributeType.STRING },
    sortKey: { name: STATE_INDEX.sortKey, type: AttributeType.STRING },
    projectionType: ProjectionType.INCLUDE,
    nonKeyAttributes: [...STATE_INDEX_PROJECTED_ATTRIBUTES],
  });
  return table;
}
