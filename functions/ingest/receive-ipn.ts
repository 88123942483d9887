/**
 * The ingest use case: verify an okePay IPN, store it exactly once, enqueue it, and say what
 * happened. Every collaborator is an argument, so the same code runs in Lambda, in the local
 * pipeline and in unit tests.
 *
 * The order matters for "nothing answered 2xx is ever lost":
 *   1. verify the signature (401; nothing is written),
 *   2. validate (400/415; the signed body is kept as rejected, nothing enqueued),
 *   3. conditional put (the dedup), then 4. enqueue, and only then 5. answer 200.
 * A failure at 3 or 4 throws, the handler answers 5xx and okePay retries. On the retry the put finds
 * the item still unpublished and enqueues it again; the consumer skips copies that were published.
 */
import { createHash } from 'node:crypto';
import { InvalidPayloadError, SignatureVerificationError } from '../shared/ipn/errors.ts';
import { parseIpnBody } from '../shared/ipn/payload.ts';
import { SIGNATURE_HEADER, type SignatureScheme, verifySignature } from '../shared/ipn/signature.ts';
import { type Log, METRICS, type MetricSink } from '../shared/observability.ts';
import type { IpnQueue, QueuedIpn } from '../shared/queue/ipn-queue.ts';
import type { WebhookSecrets } from '../shared/secrets/webhook-secrets.ts';
import type { EventStore, StoredEvent } from '../shared/store/event-store.ts';
import { UnsupportedMediaTypeError } from './errors.ts';

export interface IpnRequest {
  /** Header names in lower case, as API Gateway HTTP API (payload v2) delivers them. */
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
}

export interface ReceiveIpnSettings {
  signatureScheme: SignatureScheme;
  toleranceSeconds: number;
  retentionDays: number;
}

export interface ReceiveIpnDeps {
  store: Pick<EventStore, 'putIfAbsent' | 'recordConflict' | 'recordRejected'>;
  queue: IpnQueue;
  secrets: WebhookSecrets;
  /** Milliseconds since the epoch. */
  now: () => number;
  log: Log;
  metrics: MetricSink;
  settings: ReceiveIpnSettings;
}

export type IpnOutcome =
  | { status: 'accepted' }
  | { status: 'duplicate' }
  | { status: 'duplicate'; conflict: true; message: string };

const DAY_SECONDS = 86_400;

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** JSON, with or without parameters (`application/json; charset=utf-8`); a missing header is allowed. */
function assertJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError(contentType);
}

export async function receiveIpn(request: IpnRequest, deps: ReceiveIpnDeps): Promise<IpnOutcome> {
  const { store, queue, log, metrics, settings } = deps;
  const nowMs = deps.now();

  let signatureTimestamp: number;
  try {
    signatureTimestamp = verifySignature({
      header: request.headers[SIGNATURE_HEADER],
      rawBody: request.rawBody,
      secrets: await deps.secrets.current(),
      scheme: settings.signatureScheme,
      toleranceSeconds: settings.toleranceSeconds,
      nowMs,
    });
  } catch (error) {
    if (error instanceof SignatureVerificationError) {
      metrics.addMetric(METRICS.signatureFailure, 'Count', 1);
    }
    throw error;
  }

  const receivedAt = new Date(nowMs).toISOString();
  const expiresAt = Math.floor(nowMs / 1000) + settings.retentionDays * DAY_SECONDS;
  const bodySha256 = sha256Hex(request.rawBody);

  let payload: ReturnType<typeof parseIpnBody>;
  try {
    assertJsonContentType(request.headers['content-type']);
    payload = parseIpnBody(request.rawBody);
  } catch (error) {
    if (error instanceof InvalidPayloadError || error instanceof UnsupportedMediaTypeError) {
      const httpStatus = error instanceof UnsupportedMediaTypeError ? 415 : 400;
      const issues =
        error instanceof InvalidPayloadError ? error.issues : [{ path: '', message: error.message }];
      // Kept before answering: okePay will not resend a 4xx, so this record is the only copy.
      await store.recordRejected({
        body: request.rawBody,
        bodySha256,
        signatureTimestamp,
        receivedAt,
        httpStatus,
        issues,
        expiresAt,
      });
      metrics.addMetric(METRICS.ipnRejected, 'Count', 1);
      log.warn('Rejected a signed IPN that is not valid', {
        bodySha256,
        httpStatus,
        issuePaths: issues.map((issue) => issue.path),
      });
    }
    throw error;
  }

  const stored: StoredEvent = {
    paymentId: payload.payment_id,
    event: payload.event,
    orderRef: payload.order_ref,
    body: request.rawBody,
    bodySha256,
    signatureTimestamp,
    receivedAt,
    occurredAt: payload.occurred_at,
    status: 'received',
    conflictCount: 0,
    expiresAt,
  };
  const context = { paymentId: stored.paymentId, event: stored.event };

  const put = await store.putIfAbsent(stored);
  if (put.created) {
    await queue.enqueue(queueMessage(stored));
    metrics.addMetric(METRICS.ipnAccepted, 'Count', 1);
    log.info('Accepted IPN', context);
    return { status: 'accepted' };
  }

  const existing = put.existing;
  let conflict = false;
  if (existing.bodySha256 !== bodySha256) {
    conflict = true;
    await store.recordConflict(existing, bodySha256, receivedAt);
    metrics.addMetric(METRICS.ipnConflict, 'Count', 1);
    log.warn('IPN with a known payment_id and event but a different body; the first copy is kept', {
      ...context,
      storedBodySha256: existing.bodySha256,
      bodySha256,
    });
  }

  if (existing.status !== 'published') {
    // An earlier delivery was stored but may never have reached the queue (the send failed and
    // okePay retried). Enqueue the stored copy again; the consumer drops it if it was published.
    await queue.enqueue(queueMessage(existing));
    log.info('Re-enqueued an IPN that was stored but not yet published', context);
    if (!conflict) {
      metrics.addMetric(METRICS.ipnAccepted, 'Count', 1);
      return { status: 'accepted' };
    }
  }
  metrics.addMetric(METRICS.ipnDuplicate, 'Count', 1);
  return conflict
    ? {
        status: 'duplicate',
        conflict: true,
        message:
          'An IPN with this payment_id and event was already received with a different body; the first one is kept',
      }
    : { status: 'duplicate' };
}

function queueMessage(event: StoredEvent): QueuedIpn {
  return {
    v: 1,
    paymentId: event.paymentId,
    event: event.event,
    bodySha256: event.bodySha256,
    receivedAt: event.receivedAt,
  };
}
