/**
 * Cold-start floor of the consumer function: nothing but the AWS SDK clients it uses, built at module
 * scope the way the handler builds them.
 */
import { dynamoDbClient } from '../../functions/shared/clients/dynamodb.ts';
import { eventBridgeClient } from '../../functions/shared/clients/eventbridge.ts';

export const clients = [dynamoDbClient, eventBridgeClient];
