/**
 * Property-based tests (fast-check) of the signature verifier and the ingest handler: random bodies,
 * random and mutated headers, timestamps around the tolerance edges, several v1 values and secrets.
 * The properties: never a 2xx without a valid signature, never a 5xx for bad input, never an error
 * escaping the handler, nothing stored or enqueued unless answered 2xx or recorded as rejected.
 *
 * Runs per property: FAST_CHECK_RUNS, 10,000 by default (.ci/run sets it explicitly).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignatureVerificationError } from '../../functions/shared/ipn/errors.ts';
import { verifySignature } from '../../functions/shared/ipn/signature.ts';
import { httpApiEvent } from '../helpers/api-gateway.ts';
import { ingestHarness } from '../helpers/ingest-harness.ts';
import { ipnJson, NOW_MS, NOW_SECONDS, OTHER_SECRET, RawNumber, TEST_SECRET } from '../helpers/ipn.ts';

const NUM_RUNS = Number(process.env.FAST_CHECK_RUNS ?? 10_000);
const TOLERANCE = 300;
const CONFIGURED = [TEST_SECRET, OTHER_SECRET];

const hmacHex = (secret: string, content: Buffer) =>
  createHmac('sha256', secret).update(content).digest('hex');

/** The oracle: is this header a valid signature of `body`, computed independently of the verifier? */
function validlySigned(header: string | undefined, body: Buffer, scheme: 'body' | 'timestamp.body'): boolean {
  if (header === undefined || header.length > 4096) return false;
  const pairs = header.split(',').map((part) => {
    const at = part.indexOf('=');
    return at === -1 ? undefined : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
  if (pairs.some((pair) => pair === undefined)) return false;
  const timestamps = pairs.filter((pair) => pair?.[0] === 't').map((pair) => pair?.[1] ?? '');
  const signatures = pairs
    .filter((pair) => pair?.[0] === 'v1')
    .map((pair) => (pair?.[1] ?? '').toLowerCase());
  if (timestamps.length !== 1 || !/^\d{1,12}$/.test(timestamps[0] ?? '')) return false;
  const t = Number(timestamps[0]);
  if (Math.abs(NOW_SECONDS - t) > TOLERANCE) return false;
  const content = scheme === 'body' ? body : Buffer.concat([Buffer.from(`${t}.`), body]);
  const expected = new Set(CONFIGURED.map((secret) => hmacHex(secret, content)));
  return signatures.some((signature) => expected.has(signature));
}

/** A header built from parts that are sometimes right, sometimes broken in the ways real clients break them. */
function headerArbitrary(body: Buffer, scheme: 'body' | 'timestamp.body') {
  const offset = fc.oneof(
    fc.constantFrom(-TOLERANCE - 1, -TOLERANCE, -TOLERANCE + 1, 0, TOLERANCE - 1, TOLERANCE, TOLERANCE + 1),
    fc.integer({ min: -100_000, max: 100_000 }),
  );
  const secret = fc.constantFrom(TEST_SECRET, OTHER_SECRET, 'whsec_unknown', '');
  const validV1 = (t: number) =>
    secret.map((s) => hmacHex(s, scheme === 'body' ? body : Buffer.concat([Buffer.from(`${t}.`), body])));
  const brokenV1 = (t: number) =>
    fc.oneof(
      validV1(t).map((hex) => hex.slice(0, -1)),
      validV1(t).map((hex) => `${hex}0`),
      validV1(t).map((hex) => hex.toUpperCase()),
      validV1(t).map((hex) => `${hex.slice(0, 10)}zz${hex.slice(12)}`),
      validV1(t).map((hex) => Buffer.from(hex, 'hex').toString('base64')),
      fc.string({ maxLength: 80 }),
      fc.constant('x'.repeat(5000)),
    );
  const part = (t: number) =>
    fc.oneof(
      { weight: 4, arbitrary: validV1(t).map((hex) => `v1=${hex}`) },
      { weight: 2, arbitrary: brokenV1(t).map((hex) => `v1=${hex}`) },
      { weight: 2, arbitrary: fc.constant(`t=${t}`) },
      { weight: 1, arbitrary: fc.constantFrom(`T=${t}`, `V1=`, 'v2=abc', ' ', '', '=', 't=', `t= ${t} `) },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    );
  return offset.chain((delta) => {
    const t = NOW_SECONDS + delta;
    return fc
      .tuple(fc.array(part(t), { maxLength: 6 }), fc.boolean(), fc.constantFrom(',', ', ', ' ,'))
      .map(([parts, timestampFirst, separator]) =>
        (timestampFirst ? [`t=${t}`, ...parts] : [...parts, `t=${t}`]).join(separator),
      );
  });
}

const bodyArbitrary = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 200 }).map((text) => Buffer.from(text)),
  fc
    .record({
      payment_id: fc.oneof(fc.constant('pay_prop'), fc.string({ maxLength: 20 })),
      amount: fc.oneof(fc.constantFrom('129.90', '1e3', '-1', '0.001'), fc.double().map(String)),
      currency: fc.constantFrom('EUR', 'JPY', 'KWD', 'eur', 'XXX', ''),
      event: fc.constantFrom('payment.succeeded', 'payment.weird', 'refund.created'),
    })
    .map(({ amount, ...fields }) =>
      Buffer.from(
        /^-?\d/.test(amount)
          ? ipnJson({ ...fields, amount: new RawNumber(amount) })
          : ipnJson({ ...fields, amount }),
      ),
    ),
);

describe('signature verifier properties', () => {
  it.each(['body', 'timestamp.body'] as const)(
    'accepts exactly the validly signed requests (%s scheme)',
    (scheme) => {
      fc.assert(
        fc.property(
          bodyArbitrary.chain((body) =>
            fc.tuple(fc.constant(body), fc.option(headerArbitrary(body, scheme), { nil: undefined })),
          ),
          ([body, header]) => {
            let accepted: boolean;
            try {
              verifySignature({
                header,
                rawBody: body,
                secrets: CONFIGURED,
                scheme,
                toleranceSeconds: TOLERANCE,
                nowMs: NOW_MS,
              });
              accepted = true;
            } catch (error) {
              expect(error).toBeInstanceOf(SignatureVerificationError);
              accepted = false;
            }
            expect(accepted).toBe(validlySigned(header, body, scheme));
          },
        ),
        { numRuns: NUM_RUNS },
      );
    },
  );
});

describe('ingest handler properties', () => {
  it('never answers 2xx without a valid signature, never 5xx for bad input, never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyArbitrary.chain((body) =>
          fc.tuple(
            fc.constant(body),
            fc.option(headerArbitrary(body, 'body'), { nil: undefined }),
            fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
            fc.boolean(),
          ),
        ),
        async ([body, header, contentType, base64]) => {
          const harness = ingestHarness({ secrets: CONFIGURED });
          const headers: Record<string, string> = {};
          if (header !== undefined) headers['x-okepay-signature'] = header;
          if (contentType !== undefined) headers['content-type'] = contentType;

          const response = await harness.post(body, headers, base64);

          expect([200, 400, 401, 413, 415]).toContain(response.status);
          const signed = validlySigned(header, body, 'body');
          if (response.status === 200) expect(signed).toBe(true);
          if (!signed) {
            expect(response.status).toBe(401);
            expect(harness.store.items.size + harness.store.rejected.size).toBe(0);
          }
          if (response.status !== 200) expect(harness.queue.messages).toEqual([]);
          else expect(harness.queue.messages).toHaveLength(1);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('a body flagged base64 that is not valid base64 is refused with 400 and nothing is written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 60 }), async (text) => {
        fc.pre(!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text));
        const harness = ingestHarness();
        const event = { 'x-okepay-signature': `t=${NOW_SECONDS},v1=${'0'.repeat(64)}` };
        const response = await harness.postEvent({
          ...httpApiEvent('', event),
          body: text,
          isBase64Encoded: true,
        });
        expect(response.status).toBe(400);
        expect(harness.store.items.size + harness.queue.messages.length).toBe(0);
      }),
      { numRuns: Math.min(NUM_RUNS, 2_000) },
    );
  });
});
