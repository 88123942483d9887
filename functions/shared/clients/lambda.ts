import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientSettings } from './request-handler.ts';

/**
 * The process's one LambdaClient (the replay invokes itself to continue), built at module scope so a
 * warm Lambda reuses its connections. An asynchronous Invoke is one small request answered at once
 * (202), like an SQS SendMessage, so it takes the SQS client's settings: 2 attempts of at most 1.5 s.
 */
export const lambdaClient = new LambdaClient(clientSettings.sqs);
