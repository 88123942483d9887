import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleEnvelopeJson } from '../../functions/shared/canonical/artifacts.ts';
import { ipnSamples } from '../helpers/ipn.ts';

const samplesDir = join(import.meta.dirname, '../../events/samples');

describe('generated samples (npm run generate:events), to the character', () => {
  it.each([...ipnSamples().entries()])(
    'the committed sample %s is the text the normaliser generates, raw numbers as okePay sent them',
    (name, body) => {
      expect(readFileSync(join(samplesDir, `${name}.json`), 'utf8')).toBe(sampleEnvelopeJson(name, body));
    },
  );

  it('writes 129.90 in raw as 129.90, not as the float 129.9', () => {
    expect(readFileSync(join(samplesDir, 'payment-succeeded.json'), 'utf8')).toContain('"amount": 129.90,');
  });
});
