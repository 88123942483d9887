/** Builds the pipeline stack for CDK assertion tests: cdk.json's feature flags, bundling skipped. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OkePayPipelineStack, type OkePayPipelineStackProps } from '../../lib/okepay-pipeline-stack.ts';
import { REPOSITORY_ROOT } from '../../lib/pipeline-function.ts';
import { SETTINGS_CONTEXT_KEY } from '../../lib/pipeline-settings.ts';

/** The context of cdk.json (its feature flags) without the okepay settings: the tests see what `cdk synth` sees. */
export function cdkJsonFeatureFlags(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(cdkJson.context ?? {}).filter(([key]) => key !== SETTINGS_CONTEXT_KEY),
  );
}

export interface BuildOptions extends OkePayPipelineStackProps {
  /** The value of the `okepay` context key, as cdk.json would give it. */
  readonly contextSettings?: unknown;
  /** More context entries. */
  readonly context?: Record<string, unknown>;
  /** Run the bundling (slow); skipped by default. */
  readonly bundle?: boolean;
  /**
   * Run CDK's built-in CloudFormation template validation, as `cdk synth` does. Off by default: it
   * takes seconds per test process, and the synth in CI runs it on the real app.
   */
  readonly cloudFormationValidation?: boolean;
  readonly outdir?: string;
}

export function buildApp(options: BuildOptions = {}): { app: App; stack: OkePayPipelineStack } {
  const { contextSettings, context, bundle, outdir, cloudFormationValidation, ...props } = options;
  const app = new App({
    outdir,
    builtinCloudFormationValidation: cloudFormationValidation ?? false,
    context: {
      ...cdkJsonFeatureFlags(),
      // No stack is bundled: the tests check the template, not the code (see bundles.test.ts for that).
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...(contextSettings === undefined ? {} : { [SETTINGS_CONTEXT_KEY]: contextSettings }),
      ...context,
    },
  });
  const stack = new OkePayPipelineStack(app, 'OkePayPipeline', props);
  return { app, stack };
}

export function buildTemplate(options: BuildOptions = {}): Template {
  return Template.fromStack(buildApp(options).stack);
}

/** A fresh temporary directory holding the given files (name → content; objects are written as JSON). */
export function directoryWith(files: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), 'okepay-cdk-test-'));
  mkdirSync(directory, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(directory, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return directory;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** The logical id of the one resource of `type` whose properties `matches` accepts. */
export function logicalIdOf(
  template: Template,
  type: string,
  matches: (properties: Record<string, unknown>) => boolean,
) {
  const ids = Object.entries(template.findResources(type) as Record<string, Resource>)
    .filter(([, resource]) => matches(resource.Properties ?? {}))
    .map(([id]) => id);
  if (ids.length !== 1)
    throw new Error(`Expected one ${type} to match, found ${ids.length}: ${ids.join(', ')}`);
  return ids[0] as string;
}

/** The pipeline function whose POWERTOOLS_SERVICE_NAME is `service`. */
export function functionLogicalId(template: Template, service: string): string {
  return logicalIdOf(template, 'AWS::Lambda::Function', (properties) => {
    const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    return variables?.POWERTOOLS_SERVICE_NAME === service;
  });
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement of every policy attached to the role of the function of `service`. */
export function roleStatements(template: Template, service: string): Statement[] {
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, service)];
  const roleId: unknown = fn?.Properties.Role['Fn::GetAtt'][0];
  type Policy = { Properties: { Roles: { Ref?: string }[]; PolicyDocument: { Statement: Statement[] } } };
  return (Object.values(template.findResources('AWS::IAM::Policy')) as Policy[])
    .filter((policy) => policy.Properties.Roles.some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** The sorted set of actions a function's role allows. */
export function allowedActions(template: Template, service: string): string[] {
  return roleStatements(template, service)
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]))
    .sort();
}
