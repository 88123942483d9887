import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  paymentEventJsonSchema,
  SCHEMA_FILE_NAME,
  sampleEnvelope,
} from '../../functions/shared/canonical/artifacts.ts';
import { ipnSamples } from '../helpers/ipn.ts';

const eventsDir = join(import.meta.dirname, '../../events');
/** A draft-04 validator that also checks formats (date-time, uuid). */
function compile(schema: Record<string, unknown>) {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}
const readJson = (...path: string[]) => JSON.parse(readFileSync(join(eventsDir, ...path), 'utf8')) as unknown;

describe('generated event artifacts (npm run generate:events)', () => {
  const schema = readJson('schema', SCHEMA_FILE_NAME) as Record<string, unknown>;

  it('the committed JSON Schema is the one the zod schema generates', () => {
    expect(schema).toEqual(paymentEventJsonSchema());
  });

  it.each([...ipnSamples().entries()])(
    'the committed sample %s is the one the normaliser generates',
    (name, body) => {
      expect(readJson('samples', `${name}.json`)).toEqual(sampleEnvelope(name, body));
    },
  );

  it.each([...ipnSamples().keys()])('the sample %s is valid under the JSON Schema', (name) => {
    const validate = compile(schema);
    const valid = validate(readJson('samples', `${name}.json`));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the JSON Schema refuses an event without eventId or with a float amount in minor units', () => {
    const validate = compile(schema);
    const sample = readJson('samples', 'payment-succeeded.json') as { detail: Record<string, unknown> };
    expect(validate({ ...sample, detail: { ...sample.detail, eventId: undefined } })).toBe(false);
    expect(
      validate({
        ...sample,
        detail: {
          ...sample.detail,
          amount: { decimal: '1.5', minorUnits: 1.5, number: 1.5, minorUnitDigits: 2 },
        },
      }),
    ).toBe(false);
  });
});
