import { startLocalPipeline } from '../../functions/local/pipeline.ts';
import { parseSecretList } from '../../functions/shared/secrets/webhook-secrets.ts';
import { parseOptions, UsageError } from './command.ts';

export const summary = 'run the whole pipeline locally (IPN endpoint, DynamoDB, SQS, consumer, event bus)';
export const usage = `Usage: okepay serve [options]        (npm start -- [options])

Runs the pipeline on 127.0.0.1 with the same handlers as in Lambda: the IPN endpoint, DynamoDB
(dynalite, persisted in the data directory), SQS with its DLQ, the consumer and a local EventBridge
bus that runs the rules in events/rules and any --rules directory.

Options:
  --port N          IPN endpoint port (env PORT, default 3000)
  --inspector-port N
                    the inspector page: live IPNs, timelines, actions (default 4040, or a free
                    port when 4040 is taken; 0: a free port)
  --data-dir DIR    state, bus.jsonl and endpoints.json (env OKEPAY_DATA_DIR, default .okepay-local)
  --rules DIR       more rule files (*.json); repeatable
  -h, --help        show this help

Environment: OKEPAY_WEBHOOK_SECRETS (one secret, or a JSON array of secrets; default a fixed development
secret, printed), OKEPAY_REVISION_POLICY (hold | publish),
OKEPAY_SIGNATURE_SCHEME (body | timestamp.body), OKEPAY_SIGNATURE_TOLERANCE_SECONDS (default 300).
Stop with Ctrl-C: requests in flight finish and the consumer finishes its batch.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseOptions({
    args: argv,
    options: {
      port: { type: 'string' },
      'inspector-port': { type: 'string' },
      'data-dir': { type: 'string' },
      rules: { type: 'string', multiple: true },
    },
  });
  const portText = values.port ?? process.env.PORT ?? '3000';
  if (!/^\d+$/.test(portText) || Number(portText) > 65_535)
    throw new UsageError(`--port must be 0-65535, got "${portText}"`);
  const inspectorPortText = values['inspector-port'] ?? '4040';
  if (!/^\d+$/.test(inspectorPortText) || Number(inspectorPortText) > 65_535)
    throw new UsageError(`--inspector-port must be 0-65535, got "${inspectorPortText}"`);
  const secrets = process.env.OKEPAY_WEBHOOK_SECRETS
    ? parseSecretList(process.env.OKEPAY_WEBHOOK_SECRETS)
    : undefined;
  const tolerance = process.env.OKEPAY_SIGNATURE_TOLERANCE_SECONDS;

  const startedAt = performance.now();
  const pipeline = await startLocalPipeline({
    port: Number(portText),
    inspectorPort: Number(inspectorPortText),
    // The default port may be taken (another pipeline, another tool): the page then gets a free one.
    inspectorPortFallback: values['inspector-port'] === undefined,
    dataDir: values['data-dir'] ?? process.env.OKEPAY_DATA_DIR,
    ruleDirs: values.rules ?? [],
    ...(secrets ? { secrets } : {}),
    ...(process.env.OKEPAY_SIGNATURE_SCHEME ? { signatureScheme: process.env.OKEPAY_SIGNATURE_SCHEME } : {}),
    ...(tolerance ? { toleranceSeconds: Number(tolerance) } : {}),
  });
  const { endpoints } = pipeline;
  const lines = [
    `okePay pipeline running locally (started in ${Math.round(performance.now() - startedAt)} ms)`,
    `  IPN endpoint    POST ${endpoints.ipnUrl}`,
    `  inspector       ${endpoints.inspectorUrl}  (live IPNs, timelines, resend/replay/release)`,
    `  webhook secret  ${secrets ? '(from OKEPAY_WEBHOOK_SECRETS)' : `${pipeline.secrets[0]}  (development default; set OKEPAY_WEBHOOK_SECRETS to change)`}`,
    `  data directory  ${pipeline.dataDir}  (bus.jsonl: every event on the bus; endpoints.json)`,
    `  event bus       ${endpoints.eventBusName} at ${endpoints.eventbridge}`,
    `  rules           ${pipeline.rules.map((rule) => `${rule.name} [${rule.targets.map((t) => t.type).join(', ') || 'no targets'}]`).join(', ') || 'none'}`,
    ...(pipeline.redelivering > 0
      ? [`  redelivering    ${pipeline.redelivering} http target deliveries left unfinished by the last run`]
      : []),
    ...(pipeline.recovered > 0
      ? [`  recovered       ${pipeline.recovered} stored events not yet published, re-enqueued`]
      : []),
    '',
    'Try it:  npx okepay send --type payment.succeeded',
  ];
  console.log(lines.join('\n'));

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`\n${signal}: stopping (finishing requests and the batch in flight)...`);
      pipeline.stop().then(resolve, (error: unknown) => {
        console.error(error);
        resolve();
      });
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  console.log('stopped');
  return 0;
}
