/** Cold-start attribution: the ingest floor plus the IPN payload schema (zod, lossless-json, currency-codes). */
export { ipnPayloadSchema } from '../../../functions/shared/ipn/payload.ts';
export * from '../floor-ingest.ts';
