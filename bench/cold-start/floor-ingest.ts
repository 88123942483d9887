/**
 * Cold-start floor of the ingest function: nothing but the AWS SDK clients it uses, built at module
 * scope the way the handler builds them.
 */
import { dynamoDbClient } from '../../functions/shared/clients/dynamodb.ts';
import { secretsManagerClient } from '../../functions/shared/clients/secrets-manager.ts';
import { sqsClient } from '../../functions/shared/clients/sqs.ts';

export const clients = [dynamoDbClient, sqsClient, secretsManagerClient];
