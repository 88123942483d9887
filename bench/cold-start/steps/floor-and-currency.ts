/** Cold-start attribution: the ingest floor plus the currency table (currency-codes). */
export { currencyMinorUnits } from '../../../functions/shared/ipn/currency.ts';
export * from '../floor-ingest.ts';
