import currencyCodes from 'currency-codes';

/**
 * ISO 4217 codes that are not money a payment is made in: precious metals, bond-market units, the
 * IMF's SDR, the testing code and "no currency". They have no minor unit ("N.A." in ISO 4217).
 */
const NOT_A_PAYMENT_CURRENCY = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

/**
 * Number of minor-unit digits of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD), or
 * undefined when the code is not a payment currency. The table comes from the `currency-codes`
 * package, which tracks the ISO 4217 list, rather than Intl, whose CLDR data uses cash digits for
 * some currencies (IQD, LBP, RSD...) that differ from ISO's.
 */
export function currencyMinorUnits(code: string): number | undefined {
  if (NOT_A_PAYMENT_CURRENCY.has(code)) return undefined;
  return currencyCodes.code(code)?.digits;
}
