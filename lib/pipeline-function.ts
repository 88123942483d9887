import { resolve } from 'node:path';
import { type Duration, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../functions/shared/observability.ts';
import type { PipelineSettings } from './pipeline-settings.ts';

/** The repository root: handler entries are given relative to it, and its lockfile pins the bundle. */
export const REPOSITORY_ROOT = resolve(import.meta.dirname, '..');

/**
 * How every function is bundled: locally with the project's esbuild (no Docker), as one minified ES
 * module with source maps.
 */
const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  // Prefer the ES module builds of dependencies: they tree-shake better.
  mainFields: ['module', 'main'],
  // ES modules have no `require`; CommonJS dependencies bundled into one still call it for Node
  // built-ins, which esbuild's shim can only serve if a real `require` exists.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  minify: true,
  sourceMap: true,
  // The stack traces only need file names and lines; the sources would double the bundle.
  sourcesContent: false,
  // Bundle the AWS SDK instead of using the runtime's copy: the exact versions package-lock.json pins
  // (the ones the tests ran against), tree-shaken, and no surprise when Lambda updates its copy.
  externalModules: [],
};

export interface PipelineFunctionProps {
  /** The handler file, relative to the repository root; it must export `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Powertools service name: the `service` dimension of the function's metrics and a log field. */
  readonly serviceName: string;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly reservedConcurrency?: number;
  readonly settings: PipelineSettings;
}

/**
 * A pipeline Lambda function with what every one of them shares: Node.js on arm64, X-Ray tracing, the
 * Powertools settings, its own log group, and a role that can write to that log group and nothing
 * else until the stack grants it what the function calls. Adding a function (replay) is one `new`.
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const { settings } = props;

    this.logGroup = new LogGroup(this, 'Logs', { retention: settings.logRetentionDays });

    // An own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole, which
    // lets the function create and write any log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName} function: only what its code calls`,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogs',
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: resolve(REPOSITORY_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: resolve(REPOSITORY_ROOT, 'package-lock.json'),
      description: props.description,
      // The newest Node.js runtime this aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 checks the same).
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: settings.functionMemoryMb,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      bundling: BUNDLING,
      environment: {
        // Source maps turn minified stack traces back into the TypeScript files and lines.
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
        ...props.environment,
      },
    });

    // Lambda adds xray:PutTraceSegments and xray:PutTelemetryRecords to the role for active tracing.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
        'permissions, so Lambda grants them on "*". Every other statement of this role names its resource.',
    });
  }
}
