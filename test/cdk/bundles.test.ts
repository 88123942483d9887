/**
 * The one CDK test that bundles: esbuild turns each handler into an ES module, and that module must
 * load under Node the way Lambda loads it. Loading runs the handlers' cold start (configuration checks,
 * SDK clients), so an ESM/CommonJS mix-up or a missing dependency shows here rather than in AWS.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildApp } from './stack-builder.ts';

/** What the stack sets, with made-up values: enough for every handler's cold start. */
const LAMBDA_ENVIRONMENT = {
  AWS_REGION: 'eu-west-1',
  NODE_OPTIONS: '--enable-source-maps',
  TABLE_NAME: 'okepay-events',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/okepay-ipns',
  OKEPAY_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:okepay-webhook-AbCdEf',
  OKEPAY_SIGNATURE_SCHEME: 'body',
  OKEPAY_SIGNATURE_TOLERANCE_SECONDS: '300',
  OKEPAY_RETENTION_DAYS: '90',
  OKEPAY_DEDUP_RETENTION_DAYS: '1095',
  OKEPAY_REVISION_POLICY: 'hold',
  OKEPAY_SWEEP_GRACE_SECONDS: '900',
  EVENT_BUS_NAME: 'okepay-payments',
  EVENT_SOURCE: 'okepay',
};

/** Each function's bundle, by its service name, from the synthesized template's S3 keys. */
function synthesizedBundles(): [string, string][] {
  const outdir = mkdtempSync(join(tmpdir(), 'okepay-cdk-bundles-'));
  const { app, stack } = buildApp({ bundle: true, outdir });
  const template = app.synth().getStackArtifact(stack.artifactId).template;
  type LambdaFunction = {
    Type: string;
    Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, string> } };
  };
  return Object.values(template.Resources as Record<string, LambdaFunction>)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((fn) => [
      fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME ?? '',
      join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
    ]);
}

describe('the function bundles', () => {
  const bundles = synthesizedBundles();

  it('are one ES module with a source map per function', () => {
    expect(bundles.map(([service]) => service).sort()).toEqual([
      'okepay-consumer',
      'okepay-ingest',
      'okepay-replay',
      'okepay-sweeper',
    ]);
    for (const [, bundle] of bundles) {
      expect(existsSync(bundle)).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
    }
  });

  it.each(bundles)('of %s loads under Node and exports handler', (_, bundle) => {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); process.stdout.write(typeof m.handler);`;
    const exported = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...LAMBDA_ENVIRONMENT },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(exported).toBe('function');
  });
});
