/**
 * Writes `events/schema/okepay-payment-event.schema.json` and `events/samples/*.json` from the zod
 * schema and the sample IPNs in `events/ipn/`. Run after changing either: `npm run generate:events`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  paymentEventJsonSchema,
  SCHEMA_FILE_NAME,
  sampleEnvelopeJson,
} from '../functions/shared/canonical/artifacts.ts';

const eventsDir = join(import.meta.dirname, '..', 'events');
const toJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

mkdirSync(join(eventsDir, 'schema'), { recursive: true });
writeFileSync(join(eventsDir, 'schema', SCHEMA_FILE_NAME), toJson(paymentEventJsonSchema()));
console.log(`wrote events/schema/${SCHEMA_FILE_NAME}`);

mkdirSync(join(eventsDir, 'samples'), { recursive: true });
for (const file of readdirSync(join(eventsDir, 'ipn'))
  .filter((name) => name.endsWith('.json'))
  .sort()) {
  const name = file.replace(/\.json$/, '');
  writeFileSync(
    join(eventsDir, 'samples', file),
    sampleEnvelopeJson(name, readFileSync(join(eventsDir, 'ipn', file))),
  );
  console.log(`wrote events/samples/${file}`);
}
