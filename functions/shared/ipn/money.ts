/**
 * Exact decimal amounts. Amounts travel as decimal text and integer minor units (bigint), never
 * through a binary float, so "129.90" stays 12990 cents.
 */

/** A non-negative plain decimal: no sign, no exponent, no thousands separator, no leading zeros. */
export const DECIMAL_AMOUNT = /^(0|[1-9]\d*)(\.\d+)?$/;

/** Digits after the decimal point of a decimal text (0 when there is none). */
export function fractionDigits(amount: string): number {
  const point = amount.indexOf('.');
  return point === -1 ? 0 : amount.length - point - 1;
}

/** "129.9" with 2 minor digits → 12990n. The caller has checked `fractionDigits(amount) <= minorDigits`. */
export function toMinorUnits(amount: string, minorDigits: number): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  if (fraction.length > minorDigits) {
    throw new RangeError(`${amount} has more than ${minorDigits} decimal digits`);
  }
  return BigInt(whole + fraction.padEnd(minorDigits, '0'));
}

/** 12990n with 2 minor digits → "129.90"; 500n with 0 → "500"; 5n with 3 → "0.005". */
export function formatMinorUnits(minor: bigint, minorDigits: number): string {
  if (minorDigits === 0) return minor.toString();
  const digits = minor.toString().padStart(minorDigits + 1, '0');
  return `${digits.slice(0, -minorDigits)}.${digits.slice(-minorDigits)}`;
}
