import { SQSClient } from '@aws-sdk/client-sqs';
import { requestHandler } from './request-handler.ts';

/**
 * The process's one SQSClient, built at module scope so a warm Lambda reuses its connections.
 * Its endpoint comes from the SDK's own settings (`AWS_ENDPOINT_URL` and the per-service variants),
 * which is how the local pipeline points it at 127.0.0.1.
 */
export const sqsClient = new SQSClient({ requestHandler });
