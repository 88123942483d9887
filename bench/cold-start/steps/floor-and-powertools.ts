/** Cold-start attribution: the ingest floor plus Powertools Logger and Metrics, built as the handler builds them. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export * from '../floor-ingest.ts';
export const logger = new Logger({ serviceName: 'okepay-ingest' });
export const metrics = new Metrics({ namespace: 'OkePayPipeline', serviceName: 'okepay-ingest' });
