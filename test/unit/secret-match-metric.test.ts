import { describe, expect, it } from 'vitest';
import { verifySignatureMatch } from '../../functions/shared/ipn/signature.ts';
import { SECRET_MATCH_METRICS, secretMatchMetric } from '../../functions/shared/observability.ts';
import { ingestHarness } from '../helpers/ingest-harness.ts';
import {
  ipnJson,
  NOW_MS,
  NOW_SECONDS,
  OTHER_SECRET,
  sign,
  signedHeaders,
  TEST_SECRET,
} from '../helpers/ipn.ts';

const body = ipnJson();
const secrets = (count: number) => Array.from({ length: count }, (_, index) => `whsec_rotated_${index + 1}`);

describe('verifySignatureMatch', () => {
  const verify = (header: string, configured: string[]) =>
    verifySignatureMatch({
      header,
      rawBody: Buffer.from(body),
      secrets: configured,
      scheme: 'body',
      toleranceSeconds: 300,
      nowMs: NOW_MS,
    });

  it('returns the timestamp and the 0-based position of the secret that verifies', () => {
    expect(verify(sign(body), [OTHER_SECRET, TEST_SECRET])).toEqual({
      timestamp: NOW_SECONDS,
      secretIndex: 1,
    });
    expect(verify(sign(body), [TEST_SECRET, OTHER_SECRET])).toEqual({
      timestamp: NOW_SECONDS,
      secretIndex: 0,
    });
  });

  it('names the first configured secret when several v1 match several secrets', () => {
    const header = `${sign(body, { secret: OTHER_SECRET })},v1=${sign(body).split('v1=')[1]}`;

    expect(verify(header, [OTHER_SECRET, TEST_SECRET]).secretIndex).toBe(0);
    expect(verify(header, [TEST_SECRET, OTHER_SECRET]).secretIndex).toBe(0);
  });
});

describe('secretMatchMetric', () => {
  it.each([
    [0, 'IpnVerifiedWithSecret1'],
    [1, 'IpnVerifiedWithSecret2'],
    [4, 'IpnVerifiedWithSecret5'],
    [5, 'IpnVerifiedWithSecret5'],
    [12, 'IpnVerifiedWithSecret5'],
  ])('counts position %i as %s', (index, name) => {
    expect(secretMatchMetric(index)).toBe(name);
  });

  it('is a small fixed set', () => {
    expect(SECRET_MATCH_METRICS).toHaveLength(5);
  });
});

describe('the ingest counts which configured secret verified each IPN', () => {
  it.each([
    [1, 1, 'IpnVerifiedWithSecret1'],
    [2, 2, 'IpnVerifiedWithSecret2'],
    [5, 5, 'IpnVerifiedWithSecret5'],
    [7, 7, 'IpnVerifiedWithSecret5'],
  ])('signed with secret %i of %i: %s', async (position, count, metric) => {
    const configured = secrets(count);
    const { post, metrics } = ingestHarness({ secrets: configured });

    const answer = await post(body, signedHeaders(body, { secret: configured[position - 1] }));

    expect(answer.status).toBe(200);
    expect(metrics.count(metric)).toBe(1);
    const counted = SECRET_MATCH_METRICS.filter((name) => metrics.count(name) > 0);
    expect(counted).toEqual([metric]);
  });

  it('counts no secret when the signature fails, and never a secret value', async () => {
    const { post, metrics } = ingestHarness({ secrets: [TEST_SECRET] });

    const answer = await post(body, signedHeaders(body, { secret: OTHER_SECRET }));

    expect(answer.status).toBe(401);
    expect(SECRET_MATCH_METRICS.map((name) => metrics.count(name))).toEqual([0, 0, 0, 0, 0]);
    expect([...metrics.counts.keys()].join(' ')).not.toContain('whsec_');
  });
});
