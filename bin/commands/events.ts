/**
 * `okepay events list|show|resend|replay|release|discard|reprocess`: what happened to each IPN, and the
 * actions on it, against the local pipeline or a deployed stack through the same code. `release`,
 * `discard`, `reprocess` and `replay` run the same implementations as `okepay revisions`, `okepay
 * rejected` and `okepay replay`.
 */

import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { readLocalBusRecord } from '../../functions/local/bus-record.ts';
import { DEV_WEBHOOK_SECRET } from '../../functions/local/pipeline.ts';
import { SqsDeadLetterQueue } from '../../functions/operations/dead-letters/sqs-dead-letter-queue.ts';
import { LIST_STATES, type ListState, listEvents } from '../../functions/operations/list-events.ts';
import {
  canonicalEventOf,
  type PaymentTimeline,
  paymentTimeline,
} from '../../functions/operations/payment-timeline.ts';
import { DynamoDbStoredEventQuery } from '../../functions/replay/dynamodb-stored-event-query.ts';
import { InvalidSelectionError } from '../../functions/replay/errors.ts';
import { formatCount, formatTable, processTerminal, type Terminal } from '../../functions/replay/terminal.ts';
import { DEFAULT_EVENT_SOURCE } from '../../functions/shared/canonical/constants.ts';
import { signatureHeader } from '../../functions/shared/ipn/signature.ts';
import { parseSecretList } from '../../functions/shared/secrets/webhook-secrets.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import { ORDER_REF_INDEX, orderRefKey } from '../../functions/shared/store/table-design.ts';
import { confirm } from './attention.ts';
import { parseOptions, UsageError } from './command.ts';
import { runRejectedCommand } from './rejected.ts';
import { FLAG_NAMES, runReplayCommand, SELECTION_OPTIONS } from './replay.ts';
import { runRevisionsCommand } from './revisions.ts';
import {
  dataDirectory,
  readLocalEndpoints,
  resolveTarget,
  TARGET_OPTIONS,
  TARGET_USAGE,
  type Target,
} from './targets.ts';

export const summary = "What happened to each IPN: list them, show a payment's timeline, act on one";

const DEFAULT_LIMIT = 50;

export const usage = `Usage: okepay events list (--local | --stack NAME) [selection] [--state S] [--limit N] [--before T] [--json]
       okepay events show (PAYMENT_ID | --order-ref REF) (--local | --stack NAME) [--body] [--json]
       okepay events resend PAYMENT_ID --local [--event TYPE] [--revision N] [--dry-run] [--yes]
       okepay events replay PAYMENT_ID (--local | --stack NAME) [--event TYPE] [--dry-run] [--yes]
       okepay events release|discard PAYMENT_ID (--local | --stack NAME) [--event TYPE] [--revision N] [--dry-run] [--yes]
       okepay events reprocess HASH (--local | --stack NAME) [--dry-run] [--yes]

  list       stored events, newest first, a page at a time (default: received in the last day)
  show       the payment's whole timeline: each IPN received and its verdict, stored, held, released,
             swept, publish failures, published (eventId, bus event id), replays, DLQ visits, rejected
             bodies that named it; --body adds each body as received and its canonical event
  resend     sign a stored body again with the local pipeline's secret and POST it to it (local only)
  replay     publish the payment's stored events again (okepay replay --payment-id)
  release    publish a held revision; discard: never publish it (okepay revisions)
  reprocess  validate a rejected IPN again and publish it if valid now (okepay rejected reprocess)

Selection (list):
  --payment-id ID --order-ref REF --since T --until T --type TYPE --status received|published
  --state held|rejected|stuck   the items waiting in that state instead
Options:
  --limit N        list: rows per page (default ${DEFAULT_LIMIT}); --before T: the page before T (printed)
  --event TYPE, --revision N    which of the payment's events
  --dry-run        say what would happen; change nothing
  --yes            do not ask (required when stdin is not a terminal)
  --json           JSON for scripts

${TARGET_USAGE}

Examples:
  npx okepay events list --local --state held
  npx okepay events show pay_8f2k1 --local
  npx okepay events resend pay_8f2k1 --local --event payment.succeeded --yes`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  ...SELECTION_OPTIONS,
  state: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
  event: { type: 'string' },
  revision: { type: 'string' },
  body: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const SUBCOMMANDS = ['list', 'show', 'resend', 'replay', 'release', 'discard', 'reprocess'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

type Values = ReturnType<
  typeof parseOptions<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** The target flags again, for the commands this one hands over to. */
function targetArgs(values: Values): string[] {
  const args: string[] = [];
  if (values.local) args.push('--local');
  if (values['data-dir']) args.push('--data-dir', values['data-dir']);
  if (values.stack) args.push('--stack', values.stack);
  if (values.region) args.push('--region', values.region);
  if (values.profile) args.push('--profile', values.profile);
  return args;
}

export async function runEventsCommand(argv: string[], terminal: Terminal): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: OPTIONS, allowPositionals: true });
  const [subcommand, subject, ...extra] = positionals;
  if (!SUBCOMMANDS.includes(subcommand as Subcommand)) {
    throw new UsageError(
      subcommand === undefined
        ? `say what to do: ${SUBCOMMANDS.join(', ')}`
        : `unknown subcommand "${subcommand}"`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const flag = (name: string, value: unknown) =>
    value === undefined || value === false ? [] : value === true ? [name] : [name, String(value)];

  switch (subcommand as Subcommand) {
    case 'release':
    case 'discard':
      if (subject === undefined) throw new UsageError(`${subcommand} needs the payment id`);
      return runRevisionsCommand(
        [
          subcommand as string,
          subject,
          ...targetArgs(values),
          ...flag('--event', values.event),
          ...flag('--revision', values.revision),
          ...flag('--dry-run', values['dry-run']),
          ...flag('--yes', values.yes),
        ],
        terminal,
      );
    case 'reprocess':
      if (subject === undefined)
        throw new UsageError('reprocess needs the body hash (okepay events list --state rejected)');
      return runRejectedCommand(
        [
          'reprocess',
          subject,
          ...targetArgs(values),
          ...flag('--dry-run', values['dry-run']),
          ...flag('--yes', values.yes),
        ],
        terminal,
      );
    case 'replay': {
      if (subject === undefined) throw new UsageError('replay needs the payment id');
      if (
        !values['dry-run'] &&
        !(await confirm(
          terminal,
          `Publish the stored events of ${subject}${values.event ? ` (${values.event})` : ''} again?`,
          values.yes === true,
        ))
      ) {
        terminal.out.write('Nothing published.\n');
        return 1;
      }
      return runReplayCommand(
        [
          '--payment-id',
          subject,
          ...targetArgs(values),
          ...flag('--type', values.event),
          ...flag('--dry-run', values['dry-run']),
        ],
        terminal,
      );
    }
    default:
      break;
  }

  const target = await resolveTarget(values, terminal.env, terminal.cwd);
  try {
    const store = new DynamoDbEventStore(target.dynamoDb, target.tableName);
    if (subcommand === 'list') return await list(values, terminal, target, store);
    if (subcommand === 'show') return await show(subject, values, terminal, target, store);
    return await resend(subject, values, terminal, target, store);
  } catch (error) {
    if (error instanceof InvalidSelectionError) throw new UsageError(error.message);
    throw error;
  } finally {
    target.destroy();
  }
}

async function list(values: Values, terminal: Terminal, target: Target, store: DynamoDbEventStore) {
  if (values.state !== undefined && !(LIST_STATES as readonly string[]).includes(values.state)) {
    throw new UsageError(`--state must be one of ${LIST_STATES.join(', ')}, got "${values.state}"`);
  }
  const limitText = values.limit ?? String(DEFAULT_LIMIT);
  if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1_000) {
    throw new UsageError('--limit must be a whole number from 1 to 1000');
  }
  const page = await listEvents(
    {
      selection: {
        ...(values['payment-id'] ? { paymentIds: values['payment-id'] } : {}),
        ...(values['order-ref'] !== undefined ? { orderRef: values['order-ref'] } : {}),
        ...(values.since !== undefined ? { since: values.since } : {}),
        ...(values.until !== undefined ? { until: values.until } : {}),
        ...(values.type ? { types: values.type } : {}),
        ...(values.status !== undefined ? { status: values.status } : {}),
      },
      names: FLAG_NAMES,
      ...(values.state ? { state: values.state as ListState } : {}),
      ...(values.before ? { before: values.before } : {}),
      limit: Number(limitText),
    },
    { query: new DynamoDbStoredEventQuery(target.dynamoDb, target.tableName), states: store, now: Date.now },
  );
  if (values.json) {
    terminal.out.write(`${JSON.stringify({ target: target.description, ...page }, null, 2)}\n`);
    return 0;
  }
  if (page.rows.length === 0) {
    terminal.out.write(`No events in ${target.description} for this selection.\n`);
    return 0;
  }
  const rows = page.rows.map((row) => [
    row.receivedAt,
    row.paymentId ?? '-',
    row.event ?? '-',
    String(row.revision ?? '-'),
    row.orderRef ?? '-',
    row.state,
    row.reasons ?? row.eventId ?? '-',
  ]);
  terminal.out.write(
    `${formatCount(page.rows.length)} event${page.rows.length === 1 ? '' : 's'} in ${target.description}, newest first:\n\n` +
      `${formatTable(['RECEIVED AT', 'PAYMENT', 'EVENT', 'REV', 'ORDER REF', 'STATE', 'EVENT ID / REASONS'], rows)}\n` +
      (page.nextBefore ? `\nMore: the same command with --before ${page.nextBefore}\n` : ''),
  );
  return 0;
}

async function paymentIdsOfOrder(target: Target, orderRef: string): Promise<string[]> {
  const response = await target.dynamoDb.send(
    new QueryCommand({
      TableName: target.tableName,
      IndexName: ORDER_REF_INDEX.name,
      KeyConditionExpression: '#part = :part',
      ExpressionAttributeNames: { '#part': ORDER_REF_INDEX.partitionKey },
      ExpressionAttributeValues: { ':part': { S: orderRefKey(orderRef) } },
      ProjectionExpression: 'paymentId',
    }),
  );
  return [
    ...new Set((response.Items ?? []).flatMap((item) => (item.paymentId?.S ? [item.paymentId.S] : []))),
  ];
}

/** The same timeline sources for the CLI and the inspector: the store, the DLQ, and locally the bus's record. */
export function timelineSources(target: Target, store: DynamoDbEventStore, dataDir: string | undefined) {
  const dlq = new SqsDeadLetterQueue(target.sqs, target);
  return {
    store,
    deadLetters: () => dlq.peek(100),
    ...(target.kind === 'local' && dataDir
      ? { busRecord: async (paymentId: string) => readLocalBusRecord(dataDir, paymentId) }
      : {}),
  };
}

async function show(
  subject: string | undefined,
  values: Values,
  terminal: Terminal,
  target: Target,
  store: DynamoDbEventStore,
) {
  if ((subject === undefined) === (values['order-ref'] === undefined)) {
    throw new UsageError('show needs one payment id, or --order-ref REF');
  }
  const paymentIds =
    subject !== undefined ? [subject] : await paymentIdsOfOrder(target, values['order-ref'] ?? '');
  if (paymentIds.length === 0) {
    terminal.out.write(`No stored events of order ${values['order-ref']} in ${target.description}.\n`);
    return 1;
  }
  const dataDir = target.kind === 'local' ? dataDirectory(values, terminal.env, terminal.cwd) : undefined;
  const sources = timelineSources(target, store, dataDir);
  const timelines: PaymentTimeline[] = [];
  for (const paymentId of paymentIds) timelines.push(await paymentTimeline(paymentId, sources));
  if (values.json) {
    terminal.out.write(
      `${JSON.stringify(
        timelines.map((timeline) => ({
          ...timeline,
          events: timeline.events.map(({ body, ...event }) => ({
            ...event,
            ...(values.body
              ? { body: body.toString('utf8'), canonical: canonicalOf({ ...event, body }) }
              : {}),
          })),
          rejected: timeline.rejected.map(({ body, ...item }) => ({
            ...item,
            ...(values.body ? { body: body.toString('utf8') } : {}),
          })),
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  for (const timeline of timelines)
    terminal.out.write(renderTimeline(timeline, target, values.body === true));
  return timelines.every((timeline) => timeline.entries.length === 0) ? 1 : 0;
}

function canonicalOf(event: PaymentTimeline['events'][number]): unknown {
  try {
    return canonicalEventOf(event, DEFAULT_EVENT_SOURCE).detail;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export function renderTimeline(timeline: PaymentTimeline, target: Target, withBody: boolean): string {
  if (timeline.entries.length === 0) {
    return `Nothing is stored for payment ${timeline.paymentId} in ${target.description}.\n`;
  }
  const lines = [
    `Payment ${timeline.paymentId}${timeline.orderRefs.length ? ` (order ${timeline.orderRefs.join(', ')})` : ''} in ${target.description}`,
    '',
    formatTable(
      ['AT', 'WHAT', 'EVENT', 'REV'],
      timeline.entries.map((entry) => [
        entry.at,
        entry.text,
        entry.event ?? '-',
        String(entry.revision ?? '-'),
      ]),
    ),
    '',
    'Stored events:',
    formatTable(
      ['EVENT', 'REV', 'STATUS', 'EVENT ID', 'BUS EVENT ID'],
      timeline.events.map((event) => [
        event.event,
        String(event.revision),
        event.status,
        event.eventId,
        event.busEventId ?? '-',
      ]),
    ),
  ];
  if (timeline.unknowns.length > 0)
    lines.push('', 'Not known here:', ...timeline.unknowns.map((text) => `  - ${text}`));
  if (withBody) {
    for (const event of timeline.events) {
      lines.push(
        '',
        `Body of ${event.event} revision ${event.revision} (as received):`,
        event.body.toString('utf8'),
      );
      lines.push(`Canonical event detail:`, JSON.stringify(canonicalOf(event), null, 2));
    }
    for (const item of timeline.rejected)
      lines.push('', `Rejected body ${item.bodySha256}:`, item.body.toString('utf8'));
  }
  return `${lines.join('\n')}\n\n`;
}

async function resend(
  subject: string | undefined,
  values: Values,
  terminal: Terminal,
  target: Target,
  store: DynamoDbEventStore,
) {
  if (target.kind !== 'local') {
    throw new UsageError(
      'resend posts to the local pipeline only: pass --local (for a stack, okePay itself resends)',
    );
  }
  if (subject === undefined) throw new UsageError('resend needs the payment id');
  const record = await store.paymentRecord(subject);
  const chosen = record.events.filter(
    (event) =>
      (values.event === undefined || event.event === values.event) &&
      (values.revision === undefined || event.revision === Number(values.revision)),
  );
  if (chosen.length !== 1) {
    throw new UsageError(
      chosen.length === 0
        ? `no stored event of ${subject} matches; okepay events show ${subject} --local lists them`
        : `${chosen.length} stored events of ${subject} match (${chosen.map((event) => `${event.event} revision ${event.revision}`).join(', ')}): add --event and --revision`,
    );
  }
  const event = chosen[0] as (typeof chosen)[number];
  const endpoints = readLocalEndpoints(values, terminal.env, terminal.cwd);
  // The local pipeline's secret: the one it was started with, else its development default.
  const secretValue = terminal.env.OKEPAY_WEBHOOK_SECRETS
    ? parseSecretList(terminal.env.OKEPAY_WEBHOOK_SECRETS)[0]
    : DEV_WEBHOOK_SECRET;
  if (!secretValue) throw new UsageError('OKEPAY_WEBHOOK_SECRETS holds no secret to sign with');
  const what = `POST the stored body of ${subject} ${event.event} revision ${event.revision} to ${endpoints.ipnUrl}, signed again with the local secret`;
  if (values['dry-run']) {
    terminal.out.write(`Dry run, nothing sent. ${what}.\n`);
    return 0;
  }
  if (!(await confirm(terminal, `${what}?`, values.yes === true))) {
    terminal.out.write('Nothing sent.\n');
    return 1;
  }
  const response = await fetch(endpoints.ipnUrl ?? '', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-okepay-signature': signatureHeader({
        rawBody: event.body,
        secret: secretValue,
        scheme: 'body',
        timestamp: Math.floor(Date.now() / 1000),
      }),
    },
    body: event.body,
  });
  terminal.out.write(`${response.status} ${await response.text()}\n`);
  return response.ok ? 0 : 1;
}

export const run = (argv: string[]): Promise<number> => runEventsCommand(argv, processTerminal());
