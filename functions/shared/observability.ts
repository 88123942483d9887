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
} as const;
