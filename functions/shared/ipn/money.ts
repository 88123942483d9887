/**
 * Exact decimal amounts. Amounts travel as decimal text and integer minor units (bigint), never
 * through a binary float, so "129.90" stays 12990 cents.
 */

/** A non-negative plain decimal: no sign, no exponent, no thousands separator, no leading zeros. */
export const DECIMAL_AMOUNT = /^(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Most digits an amount may have in minor units. 10^15 - 1 is below 2^53, so every amount is an exact
 * JS integer of minor units, and (15 significant digits being what a double always round-trips) its
 * decimal is also exact as a JSON number.
 */
export const MAX_MINOR_UNIT_DIGITS = 15;

/** Digits after the decimal point of a decimal text (0 when there is none). */
export function fractionDigits(amount: string): number {
  const point = amount.indexOf('.');
  return point === -1 ? 0 : amount.length - point - 1;
}

/**
 * Whether the amount is a whole number of minor units: digits past `minorDigits` may only be zeros,
 * since OKPAY writes every amount with two decimals ("5400.00" JPY is 5400 yen).
 */
export function isWholeMinorUnits(amount: string, minorDigits: number): boolean {
  const [, fraction = ''] = amount.split('.');
  return /^0*$/.test(fraction.slice(minorDigits));
}

/**
 * "129.9" with 2 minor digits → 12990n; "5400.00" with 0 → 5400n. Throws a RangeError when there are
 * non-zero digits past `minorDigits` (check {@link isWholeMinorUnits} first).
 */
export function toMinorUnits(amount: string, minorDigits: number): bigint {
  if (!isWholeMinorUnits(amount, minorDigits)) {
    throw new RangeError(`${amount} has non-zero digits past its ${minorDigits} minor-unit digits`);
  }
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole + fraction.slice(0, minorDigits).padEnd(minorDigits, '0'));
}

/** 12990n with 2 minor digits → "129.90"; 500n with 0 → "500"; 5n with 3 → "0.005". */
export function formatMinorUnits(minor: bigint, minorDigits: number): string {
  if (minorDigits === 0) return minor.toString();
  const digits = minor.toString().padStart(minorDigits + 1, '0');
  return `${digits.slice(0, -minorDigits)}.${digits.slice(-minorDigits)}`;
}
