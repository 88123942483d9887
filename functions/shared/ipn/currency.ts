import currencyCodes from 'currency-codes';

/**
 * ISO 4217 codes that are not money a payment is made in: precious metals, bond-market units, the
 * IMF's SDR, the SUCRE, the testing code and "no currency". They have no minor unit ("N.A." in ISO 4217).
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

/** The most minor-unit digits the canonical event carries (CLF and UYW have 4). */
export const MAX_CURRENCY_MINOR_UNIT_DIGITS = 4;

let intlCurrencies: ReadonlySet<string> | undefined;

/** Currencies the runtime's ICU data knows, read on first use (only codes the ISO table lacks need it). */
function knownToIntl(code: string): boolean {
  intlCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  return intlCurrencies.has(code);
}

/**
 * Number of minor-unit digits of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD, 4 for CLF), or
 * undefined when the code is not a payment currency.
 *
 * Decision: the ISO 4217 table of the `currency-codes` package first, then the runtime's ICU data
 * (`Intl`) for codes that table lacks.
 * - The table gives ISO's own minor units. Intl cannot replace it: CLDR gives some currencies their cash
 *   digits instead (IQD 0 where ISO says 3; LBP, COP, HUF, IDR, PKR... 0 where ISO says 2), and Node
 *   20's ICU does not list the funds codes at all (CLF, UYW, BOV, CHE, ...).
 * - But the table is a snapshot (ISO list of 2024-06-25 in currency-codes 2.2.0), so it misses newer
 *   codes, such as XCG (Caribbean guilder, in force since 2025). ICU ships with every Node release and
 *   knows them; for those, its digits are the only current data there is (XCG: 2, as ISO says).
 * - Codes in ICU but not in the table are also ones ISO withdrew before the table's date (Node 20:
 *   HRK, SLL, ZWL). They are accepted, with CLDR's digits: okePay will not send them, and refusing them
 *   would take a list of withdrawals kept by hand.
 * Upgrading `currency-codes` when ISO amends the list keeps ISO's digits authoritative.
 */
export function currencyMinorUnits(code: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(code) || NOT_A_PAYMENT_CURRENCY.has(code)) return undefined;
  const iso = currencyCodes.code(code)?.digits;
  if (iso !== undefined) return iso;
  if (!knownToIntl(code)) return undefined;
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
    .maximumFractionDigits;
  return digits !== undefined && digits <= MAX_CURRENCY_MINOR_UNIT_DIGITS ? digits : undefined;
}
