import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientSettings } from './request-handler.ts';

/**
 * The process's one DynamoDBClient, built at module scope so a warm Lambda reuses its connections.
 * Its endpoint comes from the SDK's own settings (`AWS_ENDPOINT_URL` and the per-service variants),
 * which is how the local pipeline points it at 127.0.0.1. Its timeouts and attempts are
 * `clientSettings.dynamoDb` (request-handler.ts, with the time budget of each function that uses it).
 */
export const dynamoDbClient = new DynamoDBClient(clientSettings.dynamoDb);
