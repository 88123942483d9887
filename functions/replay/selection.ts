/**
 * What a replay selects: the one schema behind the CLI flags, the replay Lambda's input and the
 * selection recorded with a replay's progress.
 */
import * as z from 'zod';
import { InvalidSelectionError } from './errors.ts';

export const STORED_STATUSES = ['received', 'published'] as const;
export const MAX_PAYMENT_IDS = 100;
export const MAX_TYPES = 20;
/** A longer window is more likely a typo (`--since 2016-...`) than an intent; a scan serves the rest. */
export const MAX_WINDOW_DAYS = 400;
const DAY_MS = 86_400_000;

/** A subscription's name, as the subscriber construct and `detail.replay.subscriber` carry it. */
export const SUBSCRIBER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const instant = z
  .string()
  .describe('ISO 8601: a date (2026-05-10, meaning 00:00 UTC) or a date-time with Z or an offset');

/** The selection as a caller gives it. Every field narrows it; `scan` only allows a full-table scan. */
export const replaySelectionSchema = z.strictObject({
  paymentIds: z
    .array(z.string().min(1).max(256))
    .min(1)
    .max(MAX_PAYMENT_IDS)
    .optional()
    .describe('Events of these payments'),
  orderRef: z.string().min(1).max(127).optional().describe('Events of this order ref'),
  since: instant.optional().describe('Received at or after (inclusive)'),
  until: instant
    .optional()
    .describe('Received before (exclusive); default and upper bound: when the replay was requested'),
  types: z.array(z.string().min(1).max(128)).min(1).max(MAX_TYPES).optional().describe('okePay event types'),
  status: z
    .enum(STORED_STATUSES)
    .optional()
    .describe('Status of the stored item: received = never published'),
  scan: z.boolean().optional().describe('Allow a full-table scan when no key or index selects'),
  subscriber: z
    .string()
    .regex(SUBSCRIBER_NAME, 'must be a subscription name: 1 to 64 letters, digits, "-" or "_"')
    .optional()
    .describe(
      "Only this subscriber's rule receives the replayed events (detail.replay.subscriber); default: every subscriber that takes replays",
    ),
});
export type ReplaySelectionInput = z.input<typeof replaySelectionSchema>;

/**
 * A checked selection, frozen when the replay is requested: `since`/`until` are canonical ISO strings
 * (the format of the stored `receivedAt`), and `until` is always set, at most the request time, so
 * events received later never join a replay that is resumed. This is what a replay's progress record
 * keeps.
 */
export const frozenSelectionSchema = z.strictObject({
  paymentIds: z.array(z.string()).optional(),
  orderRef: z.string().optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime(),
  types: z.array(z.string()).optional(),
  status: z.enum(STORED_STATUSES).optional(),
  scan: z.boolean().optional(),
  subscriber: z.string().optional(),
});
export type ReplaySelection = z.output<typeof frozenSelectionSchema>;

/** How the selection's fields are called to the user: JSON names (Lambda) or flags (CLI). */
export type SelectionFieldNames = Record<keyof ReplaySelectionInput, string>;
export const JSON_FIELD_NAMES: SelectionFieldNames = {
  paymentIds: 'paymentIds',
  orderRef: 'orderRef',
  since: 'since',
  until: 'until',
  types: 'types',
  status: 'status',
  scan: 'scan',
  subscriber: 'subscriber',
};

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Canonical ISO of an instant, or a problem. A date-time without Z or an offset is ambiguous. */
function parseInstant(text: string, name: string): { iso: string } | { problem: string } {
  const trimmed = text.trim();
  let candidate: string;
  if (DATE_ONLY.test(trimmed)) candidate = `${trimmed}T00:00:00Z`;
  else if (DATE_TIME.test(trimmed)) candidate = trimmed;
  else {
    return {
      problem: `${name} must be ISO 8601, a date (2026-05-10) or a date-time with Z or an offset (2026-05-10T12:00:00Z), got "${text}"`,
    };
  }
  const ms = Date.parse(candidate);
  // Date.parse rolls 2026-02-30 over to March; a date that does not round-trip does not exist.
  const day = trimmed.slice(0, 10);
  if (Number.isNaN(ms) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) {
    return { problem: `${name} is not a valid date, got "${text}"` };
  }
  return { iso: new Date(ms).toISOString() };
}

/**
 * Checks a selection and freezes it at `requestedAt`. Throws {@link InvalidSelectionError} listing
 * every problem, in the caller's words (`names`).
 */
export function normaliseSelection(
  input: unknown,
  requestedAt: Date,
  names: SelectionFieldNames = JSON_FIELD_NAMES,
): ReplaySelection {
  const parsed = replaySelectionSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidSelectionError(
      parsed.error.issues.map((issue) => {
        const [field, ...rest] = issue.path.map(String);
        const label = field && field in names ? names[field as keyof SelectionFieldNames] : field;
        return `${[label, ...rest].filter(Boolean).join('.') || 'selection'}: ${issue.message}`;
      }),
    );
  }
  const given = parsed.data;
  const problems: string[] = [];
  const requestedIso = requestedAt.toISOString();

  let since: string | undefined;
  let until = requestedIso;
  if (given.since !== undefined) {
    const result = parseInstant(given.since, names.since);
    if ('problem' in result) problems.push(result.problem);
    else since = result.iso;
  }
  if (given.until !== undefined) {
    const result = parseInstant(given.until, names.until);
    if ('problem' in result) problems.push(result.problem);
    else if (result.iso < requestedIso) until = result.iso;
  }
  if (since !== undefined && since >= until) {
    problems.push(
      until === requestedIso
        ? `${names.since} (${since}) is not before now (${requestedIso}): nothing can have been received yet`
        : `${names.since} (${since}) must be before ${names.until} (${until})`,
    );
  }

  const keyed = given.paymentIds !== undefined || given.orderRef !== undefined;
  if (!keyed && since === undefined && !given.scan) {
    problems.push(
      given.until !== undefined
        ? `${names.until} alone is no window: add ${names.since}, or select with ${names.paymentIds} or ${names.orderRef}`
        : `nothing selects events: give ${names.paymentIds}, ${names.orderRef} or a time window (${names.since}, ` +
            `optionally ${names.until}); or pass ${names.scan} to read the whole table, which is slow and costly on a large table`,
    );
  }
  if (!keyed && since !== undefined && since < until) {
    const days = Math.ceil((Date.parse(until) - Date.parse(since)) / DAY_MS);
    if (days > MAX_WINDOW_DAYS) {
      problems.push(
        `the window spans ${days} days, more than ${MAX_WINDOW_DAYS}: check ${names.since}, split the window, ` +
          `or pass ${names.scan} without a window`,
      );
    }
  }
  if (problems.length > 0) throw new InvalidSelectionError(problems);

  return {
    ...(given.paymentIds ? { paymentIds: [...new Set(given.paymentIds)] } : {}),
    ...(given.orderRef !== undefined ? { orderRef: given.orderRef } : {}),
    ...(since !== undefined ? { since } : {}),
    until,
    ...(given.types ? { types: [...new Set(given.types)] } : {}),
    ...(given.status ? { status: given.status } : {}),
    ...(given.scan ? { scan: true } : {}),
    ...(given.subscriber ? { subscriber: given.subscriber } : {}),
  };
}

/** A one-line description of a selection, for summaries and logs. */
export function describeSelection(selection: ReplaySelection): string {
  const parts: string[] = [];
  if (selection.paymentIds) parts.push(`payment ${selection.paymentIds.join(', ')}`);
  if (selection.orderRef !== undefined) parts.push(`order ref ${selection.orderRef}`);
  parts.push(
    selection.since !== undefined
      ? `received ${selection.since} .. ${selection.until}`
      : `received before ${selection.until}`,
  );
  if (selection.types) parts.push(`type ${selection.types.join(', ')}`);
  if (selection.status) parts.push(`status ${selection.status}`);
  if (selection.subscriber) parts.push(`for subscriber ${selection.subscriber} only`);
  return parts.join('; ');
}
