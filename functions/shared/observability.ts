import type { Logger } from '@aws-lambda-powertools/logger';

/** The slices of Powertools' Logger and Metrics the domain code uses, so tests can pass their own. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
export interface MetricSink {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}

/** CloudWatch namespace and metric names; the CDK alarms and dashboard read the same constants. */
export const METRIC_NAMESPACE = 'OkePayPipeline';
export const METRICS = {
  ipnAccepted: 'IpnAccepted',
  ipnDuplicate: 'IpnDuplicate',
  ipnConflict: 'IpnConflict',
  ipnRejected: 'IpnRejected',
  signatureFailure: 'IpnSignatureFailure',
  ingestDependencyFailure: 'IngestDependencyFailure',
  eventsPublished: 'EventsPublished',
  eventsSkipped: 'EventsAlreadyPublished',
  putEventsFailedEntries: 'PutEventsFailedEntries',
  poisonRecords: 'PoisonRecords',
  /** Ingest: a body with a known payment_id + event but different content, kept as a new revision. */
  ipnRevision: 'IpnRevision',
  /** Ingest: a body seen before whose stored copy has expired (a captured request sent again). */
  ipnExpiredDuplicate: 'IpnExpiredDuplicate',
  /** Consumer: an event that no retry can publish (too large, refused by EventBridge's validation). */
  unpublishableEvents: 'UnpublishableEvents',
  /** Sweeper gauge: stored events still unpublished past the grace period. */
  stuckEvents: 'StuckEvents',
  /** Sweeper: stuck events it enqueued again. */
  stuckEventsReenqueued: 'StuckEventsReenqueued',
  /** Sweeper gauge: revisions waiting for an operator to release or discard them. */
  heldRevisions: 'HeldRevisions',
  /** Sweeper gauge: signed IPNs refused by validation and not yet reprocessed. */
  rejectedIpnsWaiting: 'RejectedIpnsWaiting',
  /** Ingest: a request from an address outside `allowedSourceCidrs`, answered 403. */
  ipnSourceRefused: 'IpnSourceRefused',
} as const;

/**
 * Ingest: IPNs verified with configured secret 1, 2, ... (by position in the secret list, never by
 * value), so an operator sees when an old secret stops being used and can be retired. A fixed set keeps
 * the metric names known to the dashboard; positions past the last are counted in the last.
 */
export const SECRET_MATCH_METRICS = [
  'IpnVerifiedWithSecret1',
  'IpnVerifiedWithSecret2',
  'IpnVerifiedWithSecret3',
  'IpnVerifiedWithSecret4',
  'IpnVerifiedWithSecret5',
] as const;

/** The metric for a secret's 0-based position in the configured list. */
export function secretMatchMetric(secretIndex: number): (typeof SECRET_MATCH_METRICS)[number] {
  return SECRET_MATCH_METRICS[Math.max(secretIndex, 0)] ?? 'IpnVerifiedWithSecret5';
}
