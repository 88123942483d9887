/** The ingest handler's logic over in-memory collaborators, for property and table tests. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createIngestHttpHandler } from '../../functions/ingest/http-handler.ts';
import type { ReceiveIpnSettings } from '../../functions/ingest/receive-ipn.ts';
import { StaticWebhookSecrets } from '../../functions/shared/secrets/webhook-secrets.ts';
import { httpApiEvent } from './api-gateway.ts';
import { InMemoryEventStore, InMemoryIpnQueue, RecordingLog, RecordingMetrics } from './in-memory.ts';
import { NOW_MS, TEST_SECRET } from './ipn.ts';

export function ingestHarness(
  options: { secrets?: string[]; settings?: Partial<ReceiveIpnSettings>; nowMs?: number } = {},
) {
  const store = new InMemoryEventStore();
  const queue = new InMemoryIpnQueue();
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const handle = createIngestHttpHandler({
    store,
    queue,
    secrets: new StaticWebhookSecrets(options.secrets ?? [TEST_SECRET]),
    now: () => options.nowMs ?? NOW_MS,
    log,
    metrics,
    settings: { signatureScheme: 'body', toleranceSeconds: 300, retentionDays: 90, ...options.settings },
  });
  async function postEvent(event: APIGatewayProxyEventV2) {
    const response = await handle(event);
    return {
      status: response.statusCode ?? 0,
      body: JSON.parse(response.body ?? 'null') as Record<string, unknown>,
    };
  }
  const post = (body: Buffer | string, headers: Record<string, string>, base64 = false) =>
    postEvent(httpApiEvent(body, headers, { base64 }));
  return { store, queue, log, metrics, handle, post, postEvent };
}
