/**
 * The consumer package as another team gets it: `npm pack` of packages/okepay-events, installed from
 * the tarball into a new strict TypeScript project outside this repository, then type-checked with this
 * repository's compiler and run with plain node. Its JavaScript, declarations, exports map and
 * dependencies are the published ones, not this repository's sources.
 */
import { type ExecFileSyncOptions, execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isSafeNumber, LosslessNumber, parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentEventEnvelopeSchema } from '../../functions/shared/canonical/payment-event.ts';
import { statusFor } from '../../functions/shared/canonical/status.ts';
import { KNOWN_IPN_EVENTS } from '../../functions/shared/ipn/payload.ts';
import { parsePaymentEvent } from '../../packages/okepay-events/src/parse.ts';
import { KNOWN_PAYMENT_EVENT_TYPES } from '../../packages/okepay-events/src/payment-event-types.ts';
import { makePaymentEvent } from '../../packages/okepay-events/src/testing.ts';

const repoDir = join(import.meta.dirname, '../..');
const packageDir = join(repoDir, 'packages/okepay-events');
const samplesDir = join(repoDir, 'events/samples');
const tsc = join(repoDir, 'node_modules/.bin/tsc');
/** What the examples import besides okePay-events: the consumer's own dependencies, linked from here. */
const EXAMPLE_DEPENDENCIES = [
  '@types/node',
  '@types/aws-lambda',
  '@aws-sdk/client-dynamodb',
  '@aws-lambda-powertools/batch',
];
const MAX_PACKED_BYTES = 40 * 1024;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** A child's environment without the npm_* variables of the `npm test` running us (npm_config_local_prefix...). */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));

function run(command: string, args: string[], options: ExecFileSyncOptions): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      env: childEnv,
      timeout: 60_000,
      ...options,
    }).toString();
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

const STRICT = {
  target: 'ES2022',
  lib: ['ES2023'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  resolveJsonModule: true,
  types: ['node'],
};

describe('okepay-events installed from its packed tarball', { timeout: 120_000 }, () => {
  let workDir: string;
  let projectDir: string;
  let packed: PackResult;
  let installedOffline = true;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'okepay-events-consumer-'));
    // `npm pack` runs prepack: the build from src/ and functions/shared/canonical/.
    const [result] = JSON.parse(
      run('npm', ['pack', '--json', '--pack-destination', workDir], { cwd: packageDir }),
    ) as PackResult[];
    if (!result) throw new Error('npm pack printed no result');
    packed = result;

    projectDir = join(workDir, 'consumer');
    mkdirSync(join(projectDir, 'src'), { recursive: true });
    writeFileSync(
      join(projectDir, 'package.json'),
      JSON.stringify({ name: 'a-consumer', private: true, type: 'module' }, null, 2),
    );
    const tarball = join(workDir, packed.filename);
    const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball];
    try {
      run('npm', [...install, '--offline'], { cwd: projectDir });
    } catch {
      // zod is not in this machine's npm cache: fetch it.
      installedOffline = false;
      run('npm', install, { cwd: projectDir });
    }
    for (const name of EXAMPLE_DEPENDENCIES) {
      mkdirSync(dirname(join(projectDir, 'node_modules', name)), { recursive: true });
      symlinkSync(join(repoDir, 'node_modules', name), join(projectDir, 'node_modules', name), 'dir');
    }
    cpSync(join(packageDir, 'test-consumer/consumer.ts'), join(projectDir, 'src/consumer.ts'));
    cpSync(join(projectDir, 'node_modules/okepay-events/examples'), join(projectDir, 'src/examples'), {
      recursive: true,
    });
    const tsconfig = (module: string, moduleResolution: string, extra: object = {}) => ({
      compilerOptions: { ...STRICT, module, moduleResolution, ...extra },
      include: ['src'],
    });
    writeFileSync(
      join(projectDir, 'tsconfig.json'),
      JSON.stringify(
        tsconfig('nodenext', 'nodenext', { rootDir: 'src', outDir: 'out', noEmitOnError: true }),
      ),
    );
    writeFileSync(
      join(projectDir, 'tsconfig.bundler.json'),
      JSON.stringify(tsconfig('preserve', 'bundler', { noEmit: true })),
    );
  }, 120_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('holds the build, the examples and the contract, and nothing else', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing.js',
        'dist/testing.d.ts',
        'dist/functions/shared/canonical/payment-event.d.ts',
        'dist/events/okepay-payment-event.schema.json',
        'examples/idempotent-consumer.ts',
      ]),
    );
    expect(paths.filter((path) => !/^(dist|examples)\/|^(package\.json|README\.md)$/.test(path))).toEqual([]);
    expect(packed.size).toBeLessThan(MAX_PACKED_BYTES);
    console.info(
      `okepay-events: ${packed.filename} ${(packed.size / 1024).toFixed(1)} kB packed, ` +
        `${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${paths.length} files; ` +
        `installed ${installedOffline ? 'offline (npm cache)' : 'from the registry'}`,
    );
  });

  it('ships the schema and the samples of events/ as they are', () => {
    const installed = join(projectDir, 'node_modules/okepay-events/dist/events');
    expect(readdirSync(join(installed, 'samples')).sort()).toEqual(readdirSync(samplesDir).sort());
    for (const name of readdirSync(samplesDir)) {
      expect(readFileSync(join(installed, 'samples', name), 'utf8')).toBe(
        readFileSync(join(samplesDir, name), 'utf8'),
      );
    }
    expect(readFileSync(join(installed, 'okepay-payment-event.schema.json'), 'utf8')).toBe(
      readFileSync(join(repoDir, 'events/schema/okepay-payment-event.schema.json'), 'utf8'),
    );
  });

  it.each([
    ['nodenext', 'tsconfig.json'],
    ['bundler', 'tsconfig.bundler.json'],
  ])('type-checks a strict consumer and the examples under moduleResolution %s', (_resolution, config) => {
    expect(run(tsc, ['--noEmit', '-p', join(projectDir, config)], { cwd: projectDir })).toBe('');
  });

  it('parses every sample, rejects a broken event with its paths, and builds valid test events', () => {
    run(tsc, ['-p', join(projectDir, 'tsconfig.json')], { cwd: projectDir });
    const seen = JSON.parse(run(process.execPath, ['out/consumer.js', samplesDir], { cwd: projectDir }));

    expect(seen.schemaTitle).toBe('OkePayPaymentEvent');
    const sampleFiles = readdirSync(samplesDir).filter((file) => file.endsWith('.json'));
    expect(seen.samples.map((sample: { file: string }) => sample.file).sort()).toEqual(sampleFiles.sort());
    for (const sample of seen.samples) {
      const expected = JSON.parse(readFileSync(join(samplesDir, sample.file), 'utf8'));
      expect(sample).toEqual({
        file: sample.file,
        detailType: expected['detail-type'],
        eventId: expected.detail.eventId,
        sameEvent: true,
        succeeded: expected['detail-type'] === 'payment.succeeded',
        ofItsType: true,
        replay: false,
        // The factory's derivation is the pipeline's.
        factoryEventId: expected.detail.eventId,
      });
    }
    expect(seen.batch).toHaveLength(sampleFiles.length);

    expect(seen.broken.messageId).toBe('broken-1');
    expect(seen.broken.paths.sort()).toEqual(['detail.amount.decimal', 'detail.eventId']);
    expect(seen.broken.message).toMatch(/^Not a valid okePay payment event \(SQS message broken-1\): /);
    expect(seen.broken.message).toContain('detail.amount.decimal: Invalid string: must match pattern');
    expect(seen.broken.message).toContain(
      'detail.eventId: Invalid input: expected string, received undefined',
    );
    expect(seen.notJson.message).toMatch(/\(SQS message not-json\): not JSON .*input transformer/);
    expect(seen.brokenInBatch).toMatchObject({ messageId: 'bad' });
    expect(seen.brokenInBatch.message).toContain('(record 2 of 2, SQS message bad)');
    expect(seen.detailAlone.message).toMatch(
      /^Not a valid okePay payment event: this looks like the detail alone/,
    );
    expect(seen.safeParse).toEqual([true, false]);
    expect(seen.bigRawNumber).toBe(true);

    expect(seen.factory.types).toEqual([
      ['payment.pending', 'Pending', true],
      ['payment.succeeded', 'Completed', true],
      ['payment.failed', 'Error', true],
      ['payment.refunded', 'Reversed', true],
      ['payment.chargeback', 'Reversed', true],
    ]);
    expect(seen.factory.roundTrip).toBe(true);
    expect(seen.factory.live.amount).toEqual({
      decimal: '12.345',
      minorUnits: 12345,
      number: 12.345,
      minorUnitDigits: 3,
    });
    expect(seen.factory.live.replay).toBe(false);
    expect(seen.factory.replayed).toEqual({ eventId: seen.factory.live.eventId, replay: true, id: true });
    expect(seen.factory.secondRefund.revision).toBe(2);
    expect(seen.factory.secondRefund.eventId).not.toBe(seen.factory.live.eventId);
    expect(seen.factory.invalid.paths).toEqual(['detail.currency']);
  });

  it("runs the example consumer's own unit test", () => {
    const output = run(
      process.execPath,
      ['--test', '--test-reporter=tap', 'out/examples/idempotent-consumer.test.js'],
      {
        cwd: projectDir,
      },
    );
    expect(output).toMatch(/# pass 2\b/);
    expect(output).toMatch(/# fail 0\b/);
  });
});

describe('okepay-events sources, against the pipeline they describe', () => {
  it('knows the event types the IPN schema knows', () => {
    expect([...KNOWN_PAYMENT_EVENT_TYPES]).toEqual([...KNOWN_IPN_EVENTS]);
  });

  it.each([...KNOWN_IPN_EVENTS, 'payment.disputed'])(
    'makes %s events with the status the normaliser maps it to',
    (type) => {
      const { status, statusReason } = makePaymentEvent({ type }).detail;
      expect({ status, ...(statusReason ? { statusReason } : {}) }).toEqual(statusFor(type));
    },
  );

  it('refuses an amount that is not decimal text, before building anything', () => {
    expect(() => makePaymentEvent({ type: 'payment.succeeded', amount: '129,90' })).toThrow(
      'makePaymentEvent: amount 129,90 is not decimal text such as "129.90"',
    );
  });

  it.each(readdirSync(samplesDir))(
    'returns the sample %s as the schema reads it (the schema transforms nothing)',
    (name) => {
      const sample = JSON.parse(readFileSync(join(samplesDir, name), 'utf8'));
      expect(parsePaymentEvent(sample)).toEqual(paymentEventEnvelopeSchema.parse(sample));
    },
  );

  it("keeps detail.raw's digits when the body is read with the README's lossless parse", () => {
    const body = readFileSync(join(samplesDir, 'payment-succeeded.json'), 'utf8').replace(
      '"customer": {',
      '"acquirer_txn_id": 9994456683762355345868, "customer": {',
    );
    const event = parsePaymentEvent(
      parseLossless(body, null, (text) => (isSafeNumber(text) ? Number(text) : new LosslessNumber(text))),
    );
    expect(String(event.detail.raw?.acquirer_txn_id)).toBe('9994456683762355345868');
    expect(event.detail.amount.number).toBe(129.9);
  });
});
