import { describe, expect, it } from 'vitest';
import { currencyMinorUnits } from '../../functions/shared/ipn/currency.ts';

describe('currencyMinorUnits', () => {
  it.each([
    ['EUR', 2],
    ['JPY', 0],
    ['KWD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['IQD', 3],
    ['LBP', 2],
    ['ANG', 2],
  ])('gives ISO 4217 minor units from the ISO table: %s has %i', (code, digits) => {
    expect(currencyMinorUnits(code)).toBe(digits);
  });

  it('takes a code newer than the ISO table from the runtime ICU data: XCG (2025) has 2', () => {
    expect(currencyMinorUnits('XCG')).toBe(2);
  });

  it('prefers ISO over CLDR where they differ: IQD has 3 minor digits, though Intl formats it with 0', () => {
    const cldr = new Intl.NumberFormat('en', { style: 'currency', currency: 'IQD' }).resolvedOptions();
    expect(cldr.maximumFractionDigits).toBe(0);
    expect(currencyMinorUnits('IQD')).toBe(3);
  });

  it.each(['XAU', 'XAG', 'XPT', 'XPD', 'XDR', 'XSU', 'XUA', 'XBA', 'XTS', 'XXX'])(
    'refuses %s, which is not money a payment is made in',
    (code) => {
      expect(currencyMinorUnits(code)).toBeUndefined();
    },
  );

  it.each(['ABC', 'eur', 'EURO', '', 'E1R'])('refuses %j, which is not an ISO 4217 code', (code) => {
    expect(currencyMinorUnits(code)).toBeUndefined();
  });
});
