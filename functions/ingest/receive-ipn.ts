/**
 * The ingest use case: verify an okePay IPN, store it exactly once, enqueue it, and say what
 * happened. Every collaborator is an argument, so the same code runs in Lambda, in the local
 * pipeline and in unit tests.
 *
 * The order matters for "nothing answered 2xx is ever lost":
 *   1. verify the signature (401; nothing is written),
 *   2. validate (400/415; the signed body is kept as rejected, nothing enqueued),
 *   3. remember the content in its dedup marker, 4. conditional put (the dedup), then 5. enqueue, and
 *      only then 6. answer 200.
 * A failure at 3, 4 or 5 throws, the handler answers 5xx and okePay retries. On the retry the put finds
 * the item still unpublished and enqueues it again; the consumer skips copies that were published.
 *
 * Same `payment_id` + `event`, different content (a second partial refund with another amount): the
 * body is kept whole as its own revision, never dropped. See {@link storeVerifiedIpn}.
 */
import { createHash } from 'node:crypto';
import { contentSha256, contentSha256OfDocument } from '../shared/ipn/content-hash.ts';
import { InvalidPayloadError, SignatureVerificationError } from '../shared/ipn/errors.ts';
import { type IpnPayload, parseIpnDocument } from '../shared/ipn/payload.ts';
import { SIGNATURE_HEADER, type SignatureScheme, verifySignatureMatch } from '../shared/ipn/signature.ts';
import { type Log, METRICS, type MetricSink, secretMatchMetric } from '../shared/observability.ts';
import { type IpnQueue, queuedIpnOf as queueMessage } from '../shared/queue/ipn-queue.ts';
import type { WebhookSecrets } from '../shared/secrets/webhook-secrets.ts';
import { UnreadableStoredItemError } from '../shared/store/errors.ts';
import { type EventKey, type EventStore, eventKeyId, type StoredEvent } from '../shared/store/event-store.ts';
import { UnsupportedMediaTypeError } from './errors.ts';

export interface IpnRequest {
  /** Header names in lower case, as API Gateway HTTP API (payload v2) delivers them. */
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
}

/**
 * What happens to a body with a known `payment_id` + `event` and different content: `hold` keeps it
 * for an operator to release or discard (`okepay revisions`); `publish` publishes it at once as its
 * own canonical event (`detail.revision` ≥ 2, its own `eventId`).
 */
export const REVISION_POLICIES = ['hold', 'publish'] as const;
export type RevisionPolicy = (typeof REVISION_POLICIES)[number];

export interface StoreSettings {
  retentionDays: number;
  /** Days a content's dedup marker is kept; at least `retentionDays`. Default 1095. */
  dedupRetentionDays?: number;
  /** Default `hold`. */
  revisionPolicy?: RevisionPolicy;
}

export interface ReceiveIpnSettings extends StoreSettings {
  signatureScheme: SignatureScheme;
  toleranceSeconds: number;
}

export type IngestStore = Pick<
  EventStore,
  'putIfAbsent' | 'get' | 'claimRevisionNumber' | 'rememberSeen' | 'recordRejected'
>;

export interface StoreIpnDeps {
  store: Omit<IngestStore, 'recordRejected'>;
  queue: IpnQueue;
  /** Milliseconds since the epoch. */
  now: () => number;
  log: Log;
  metrics: MetricSink;
  settings: StoreSettings;
}

export interface ReceiveIpnDeps extends StoreIpnDeps {
  store: IngestStore;
  secrets: WebhookSecrets;
  settings: ReceiveIpnSettings;
}

export type IpnOutcome =
  | { status: 'accepted' }
  | { status: 'duplicate' }
  | { status: 'duplicate'; expired: true; message: string }
  | {
      status: 'revision';
      revision: number;
      /** What happens next: held for an operator, or on its way to the bus. */
      held: boolean;
      /** True when this revision had been received before (a redelivery of it). */
      duplicate: boolean;
      message: string;
    };

const DAY_SECONDS = 86_400;
export const DEFAULT_DEDUP_RETENTION_DAYS = 1_095;

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** JSON, with or without parameters (`application/json; charset=utf-8`); a missing header is allowed. */
function assertJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError(contentType);
}

export async function receiveIpn(request: IpnRequest, deps: ReceiveIpnDeps): Promise<IpnOutcome> {
  const { store, log, metrics, settings } = deps;
  const nowMs = deps.now();

  let signatureTimestamp: number;
  try {
    const match = verifySignatureMatch({
      header: request.headers[SIGNATURE_HEADER],
      rawBody: request.rawBody,
      secrets: await deps.secrets.current(),
      scheme: settings.signatureScheme,
      toleranceSeconds: settings.toleranceSeconds,
      nowMs,
    });
    signatureTimestamp = match.timestamp;
    // Counted by the secret's position, never its value: once the old secret's count stays at zero
    // after a rotation, it can be retired.
    metrics.addMetric(secretMatchMetric(match.secretIndex), 'Count', 1);
  } catch (error) {
    if (error instanceof SignatureVerificationError) {
      metrics.addMetric(METRICS.signatureFailure, 'Count', 1);
    }
    throw error;
  }

  const receivedAt = new Date(nowMs).toISOString();
  const bodySha256 = sha256Hex(request.rawBody);

  let payload: IpnPayload;
  let document: object;
  try {
    assertJsonContentType(request.headers['content-type']);
    ({ payload, document } = parseIpnDocument(request.rawBody));
  } catch (error) {
    if (error instanceof InvalidPayloadError || error instanceof UnsupportedMediaTypeError) {
      const httpStatus = error instanceof UnsupportedMediaTypeError ? 415 : 400;
      const issues =
        error instanceof InvalidPayloadError ? error.issues : [{ path: '', message: error.message }];
      // Kept before answering: okePay will not resend a 4xx, so this record is the only copy. It can be
      // reprocessed after a fix (`okepay rejected reprocess`).
      await store.recordRejected({
        body: request.rawBody,
        bodySha256,
        signatureTimestamp,
        receivedAt,
        httpStatus,
        issues,
        expiresAt: expiresAtFor(nowMs, settings.retentionDays),
        ...hintsOf(request.rawBody),
      });
      metrics.addMetric(METRICS.ipnRejected, 'Count', 1);
      log.warn('Rejected a signed IPN that is not valid; it is kept and can be reprocessed', {
        bodySha256,
        httpStatus,
        issuePaths: issues.map((issue) => issue.path),
      });
    }
    throw error;
  }

  return storeVerifiedIpn(
    { payload, document, rawBody: request.rawBody, bodySha256, signatureTimestamp, receivedAt },
    deps,
  );
}

/**
 * `payment_id` and `event` of a refused body, when it is JSON enough to read them: so the rejected
 * record shows on its payment's timeline. Best effort; the body may be anything.
 */
function hintsOf(rawBody: Buffer): { paymentIdHint?: string; eventHint?: string } {
  try {
    const parsed = JSON.parse(rawBody.toString('utf8')) as { payment_id?: unknown; event?: unknown };
    const text = (value: unknown) =>
      typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined;
    const paymentIdHint = text(parsed.payment_id);
    const eventHint = text(parsed.event);
    return { ...(paymentIdHint ? { paymentIdHint } : {}), ...(eventHint ? { eventHint } : {}) };
  } catch {
    return {};
  }
}

const expiresAtFor = (fromMs: number, days: number) => Math.floor(fromMs / 1000) + days * DAY_SECONDS;

/** A body whose signature was verified and whose payload is valid. */
export interface VerifiedIpn {
  payload: IpnPayload;
  /** The body as parsed (lossless numbers), when the caller has it: its content hash needs no new parse. */
  document?: object;
  rawBody: Buffer;
  bodySha256: string;
  signatureTimestamp: number;
  /** When the signature was verified and the body received (ISO 8601 UTC). */
  receivedAt: string;
  /** Set when the body comes from a rejected record being reprocessed: `REJECTED#<sha256>`. */
  reprocessedFrom?: string;
}

/**
 * Steps 3 to 5 of the ingest, shared with the reprocessing of rejected IPNs: dedup marker, conditional
 * put, enqueue. A body with a known key:
 * - the same content (same JSON after parsing) is a redelivery: a duplicate, enqueued again if the
 *   stored copy was not published yet;
 * - other content is a revision: stored whole under its own key, numbered, counted and logged, then
 *   held or enqueued as `settings.revisionPolicy` says.
 */
export async function storeVerifiedIpn(ipn: VerifiedIpn, deps: StoreIpnDeps): Promise<IpnOutcome> {
  const { store, log, metrics, settings } = deps;
  const { payload } = ipn;
  const nowMs = deps.now();
  // The body expires `retentionDays` after it was received, whether now or at its first delivery.
  const expiresAt = expiresAtFor(Date.parse(ipn.receivedAt), settings.retentionDays);
  const contentHash =
    ipn.document === undefined ? contentSha256(ipn.rawBody) : contentSha256OfDocument(ipn.document);
  const firstKey: EventKey = { paymentId: payload.payment_id, event: payload.event };
  const context = { ...firstKey, bodySha256: ipn.bodySha256 };

  const seen = await store.rememberSeen(
    {
      ...firstKey,
      contentSha256: contentHash,
      bodyExpiresAt: expiresAt,
      expiresAt: expiresAtFor(
        nowMs,
        Math.max(settings.dedupRetentionDays ?? DEFAULT_DEDUP_RETENTION_DAYS, settings.retentionDays),
      ),
      deliveredAt: ipn.receivedAt,
      signatureSkewSeconds: ipn.signatureTimestamp - Math.floor(Date.parse(ipn.receivedAt) / 1000),
    },
    Math.floor(nowMs / 1000),
  );
  if (seen === 'expired') {
    // Under the `body` signature scheme the timestamp is not signed: a captured request can be sent
    // again with a fresh `t`. Its stored copy expired long ago and was published then.
    metrics.addMetric(METRICS.ipnExpiredDuplicate, 'Count', 1);
    log.warn('IPN content seen before whose stored copy has expired: answered as a duplicate', context);
    return {
      status: 'duplicate',
      expired: true,
      message: 'This IPN was received before and its stored copy has expired; it is not processed again',
    };
  }

  const stored: StoredEvent = {
    ...firstKey,
    orderRef: payload.order_ref,
    body: ipn.rawBody,
    bodySha256: ipn.bodySha256,
    contentSha256: contentHash,
    signatureTimestamp: ipn.signatureTimestamp,
    receivedAt: ipn.receivedAt,
    occurredAt: payload.occurred_at,
    status: 'received',
    revision: 1,
    conflictCount: 0,
    ...(ipn.reprocessedFrom ? { reprocessedFrom: ipn.reprocessedFrom } : {}),
    expiresAt,
  };

  let put: Awaited<ReturnType<typeof store.putIfAbsent>>;
  try {
    put = await store.putIfAbsent(stored);
  } catch (error) {
    if (!(error instanceof UnreadableStoredItemError)) throw error;
    // The item under this key was altered by hand and cannot be compared with: keep this signed, valid
    // body whole as a revision (held by default) rather than answer 5xx to every retry of it.
    log.error(
      'The stored copy under this payment_id and event cannot be read; this body is kept as a revision',
      {
        ...context,
        reason: error.cause instanceof Error ? error.cause.message : String(error.cause),
      },
    );
    return storeRevision(stored, contentHash, deps);
  }
  if (put.created) {
    await deps.queue.enqueue(queueMessage(stored));
    metrics.addMetric(METRICS.ipnAccepted, 'Count', 1);
    log.info('Accepted IPN', context);
    return { status: 'accepted' };
  }

  const existing = put.existing;
  const existingContent = existing.contentSha256 ?? contentSha256(existing.body);
  if (existing.bodySha256 === ipn.bodySha256 || existingContent === contentHash) {
    if (existing.status === 'received') {
      // An earlier delivery was stored but may never have reached the queue (the send failed and
      // okePay retried). Enqueue the stored copy again; the consumer drops it if it was published.
      await deps.queue.enqueue(queueMessage(existing));
      log.info('Re-enqueued an IPN that was stored but not yet published', context);
      metrics.addMetric(METRICS.ipnAccepted, 'Count', 1);
      return { status: 'accepted' };
    }
    metrics.addMetric(METRICS.ipnDuplicate, 'Count', 1);
    return { status: 'duplicate' };
  }

  return storeRevision(stored, contentHash, deps);
}

async function storeRevision(first: StoredEvent, contentHash: string, deps: StoreIpnDeps) {
  const { store, log, metrics } = deps;
  const policy = deps.settings.revisionPolicy ?? 'hold';
  const key: EventKey = { paymentId: first.paymentId, event: first.event, revisionHash: contentHash };
  const context = { ...key, bodySha256: first.bodySha256 };

  // A redelivery of a known revision is looked up first, so it never takes a revision number.
  let revision = await store.get(key);
  let created = false;
  if (!revision) {
    const number = await store.claimRevisionNumber(key, new Date(deps.now()).toISOString());
    const candidate: StoredEvent = {
      ...first,
      revisionHash: contentHash,
      revision: number,
      status: policy === 'publish' ? 'received' : 'held',
    };
    const put = await store.putIfAbsent(candidate);
    // Two deliveries of the same new revision at once: one stores it, the other finds it (and its
    // claimed number stays unused). The same body received at the same instant is our own put, whose
    // answer was lost and which the SDK retried.
    const ours =
      put.created ||
      (put.existing.bodySha256 === candidate.bodySha256 && put.existing.receivedAt === candidate.receivedAt);
    revision = put.created ? candidate : put.existing;
    created = ours;
  }

  if (revision.status === 'received') await deps.queue.enqueue(queueMessage(revision));
  if (created) {
    metrics.addMetric(METRICS.ipnRevision, 'Count', 1);
    log.warn('IPN with a known payment_id and event but different content: kept as a new revision', {
      ...context,
      revision: revision.revision,
      held: revision.status === 'held',
    });
  } else {
    metrics.addMetric(METRICS.ipnDuplicate, 'Count', 1);
  }
  const held = revision.status === 'held';
  return {
    status: 'revision' as const,
    revision: revision.revision,
    held,
    duplicate: !created,
    message:
      `Kept as revision ${revision.revision} of ${eventKeyId({ paymentId: first.paymentId, event: first.event })}: ` +
      `its content differs from the first copy received. ${
        held ? 'It is held until an operator releases or discards it.' : 'It is published as its own event.'
      } Do not resend it.`,
  };
}
