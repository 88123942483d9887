import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { clientSettings } from './request-handler.ts';

/**
 * The process's one EventBridgeClient, built at module scope so a warm Lambda reuses its connections.
 * Its endpoint comes from the SDK's own settings (`AWS_ENDPOINT_URL` and the per-service variants),
 * which is how the local pipeline points it at 127.0.0.1. Its timeouts and attempts are
 * `clientSettings.eventBridge` (request-handler.ts, with the time budget of each function that uses it).
 */
export const eventBridgeClient = new EventBridgeClient(clientSettings.eventBridge);
