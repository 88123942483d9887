/**
 * PutEvents without the server around it: reading the request, its limits, per-entry validation and the
 * event envelope targets receive. Error codes and messages are the ones EventBridge documents for
 * PutEventsResultEntry (InvalidArgument, MalformedDetail, ...) and returns for the request limits.
 */
import { parse as parseLosslessJson, stringify as stringifyLosslessJson } from 'lossless-json';
import type { JsonValue } from '../shared/event-pattern-matcher.ts';
import { isJsonObject, type JsonObject, serializationError, validationError } from './event-bus-protocol.ts';

export const MAX_ENTRIES = 10;
/** "The total entry size must be less than 256KB" (EventBridge user guide, PutEvents entry size). */
export const MAX_ENTRIES_BYTES = 256 * 1024;
/** The guide counts a specified Time as 14 bytes, whatever its wire form. */
const TIME_BYTES = 14;

/** One request entry as it arrives on the wire (the SDK sends Time as epoch seconds). */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
  TraceHeader?: string;
}

export interface EntryFailure {
  ErrorCode: string;
  ErrorMessage: string;
}

export type EntryResult = { EventId: string } | EntryFailure;

export type EventDetail = { [key: string]: JsonValue };

/** An entry that passed validation, with its Detail parsed and its Time resolved. */
export interface ValidEntry {
  source: string;
  detailType: string;
  /** Parsed with JSON.parse: numbers are JS numbers, as the pattern matcher compares them. */
  detail: EventDetail;
  /** The Detail as compact JSON whose numbers keep the digits the sender wrote (see {@link envelopeJson}). */
  detailJson: string;
  resources: string[];
  time: Date;
}

/** The event as EventBridge hands it to rules and targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 in UTC without milliseconds, e.g. `2026-05-10T12:46:52Z`. */
  time: string;
  region: string;
  resources: string[];
  detail: EventDetail;
}

/** The entries of a PutEvents request, checked for shape, count and total size (request-level errors). */
export function readPutEventsEntries(input: JsonObject): PutEventsEntry[] {
  const entries = input.Entries;
  if (entries === undefined || entries === null) {
    throw validationError(
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(entries)) throw serializationError('Entries must be a list');
  if (entries.length < 1) {
    throw validationError(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > MAX_ENTRIES) {
    throw validationError(
      `1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
    );
  }
  const parsed = entries.map(readEntry);
  const total = parsed.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (total > MAX_ENTRIES_BYTES) {
    throw validationError('Total size of the entries in the request is over the limit.');
  }
  return parsed;
}

function readEntry(value: unknown, index: number): PutEventsEntry {
  if (!isJsonObject(value)) throw serializationError(`Entries[${index}] must be an object`);
  const entry: PutEventsEntry = {};
  for (const key of ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'] as const) {
    const field = value[key];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string') throw serializationError(`Entries[${index}].${key} must be a string`);
    entry[key] = field;
  }
  const { Resources, Time } = value;
  if (Resources !== undefined && Resources !== null) {
    if (!Array.isArray(Resources) || !Resources.every((r) => typeof r === 'string')) {
      throw serializationError(`Entries[${index}].Resources must be a list of strings`);
    }
    entry.Resources = Resources;
  }
  if (Time !== undefined && Time !== null) {
    if (typeof Time !== 'number' && typeof Time !== 'string') {
      throw serializationError(`Entries[${index}].Time must be a timestamp`);
    }
    entry.Time = Time;
  }
  return entry;
}

/**
 * The size EventBridge charges an entry against the 256 KB limit, as its user guide computes it
 * ("Calculating PutEvents event entry size"): 14 bytes for a specified Time, plus the UTF-8 bytes of
 * Source, DetailType, Detail and each of Resources. EventBusName and TraceHeader do not count.
 */
export function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time === undefined ? 0 : TIME_BYTES;
  size += utf8Bytes(entry.Source) + utf8Bytes(entry.DetailType) + utf8Bytes(entry.Detail);
  for (const resource of entry.Resources ?? []) size += utf8Bytes(resource);
  return size;
}

function utf8Bytes(s: string | undefined): number {
  return s === undefined ? 0 : Buffer.byteLength(s, 'utf8');
}

/** Per-entry validation; a failure is reported in that entry's result and does not fail the request. */
export function validateEntry(entry: PutEventsEntry, now: Date): ValidEntry | EntryFailure {
  // Empty strings count as missing, as they do for EventBridge.
  if (!entry.Source) return missingArgument('Source');
  if (!entry.DetailType) return missingArgument('DetailType');
  if (!entry.Detail) return missingArgument('Detail');
  const detail = parseDetail(entry.Detail);
  if (detail === undefined) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  const time = entry.Time === undefined ? now : parseEventTime(entry.Time);
  if (time === undefined) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' };
  }
  return {
    source: entry.Source,
    detailType: entry.DetailType,
    detail,
    detailJson: exactDetailJson(entry.Detail, detail),
    resources: entry.Resources ?? [],
    time,
  };
}

function missingArgument(parameter: string): EntryFailure {
  return {
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${parameter} is a required argument.`,
  };
}

/** Detail must be a JSON object; valid JSON of another kind (`"x"`, `[1]`, `3`) is malformed too. */
function parseDetail(detail: string): EventDetail | undefined {
  try {
    const parsed: unknown = JSON.parse(detail);
    return isJsonObject(parsed) ? (parsed as EventDetail) : undefined;
  } catch {
    // Not JSON at all: reported as MalformedDetail by the caller.
    return undefined;
  }
}

/**
 * Detail as compact JSON with every number written as the sender wrote it: EventBridge hands targets
 * the detail's numbers as sent (`9994456683762355345868`, `129.90`), where JSON.parse and
 * JSON.stringify would print `9.994456683762355e+21` and `129.9`. A repeated key keeps its last value,
 * as with JSON.parse, so targets get what the rules matched.
 */
function exactDetailJson(text: string, parsed: EventDetail): string {
  try {
    const exact = parseLosslessJson(text, null, { onDuplicateKey: ({ newValue }) => newValue });
    return stringifyLosslessJson(exact) ?? JSON.stringify(parsed);
  } catch {
    // lossless-json recurses: a Detail nested deeper than its stack allows (JSON.parse took it) is
    // written as parsed, numbers as JSON.stringify prints them.
    return JSON.stringify(parsed);
  }
}

/** Epoch seconds (the SDK's wire form) or an ISO 8601 string (a hand-written request). */
export function parseEventTime(time: number | string): Date | undefined {
  const millis = typeof time === 'number' ? time * 1000 : Date.parse(time);
  return Number.isFinite(millis) ? new Date(millis) : undefined;
}

/** `2026-05-10T12:46:52Z`: EventBridge envelopes carry whole seconds. */
export function formatEventTime(time: Date): string {
  return `${time.toISOString().slice(0, 19)}Z`;
}

/**
 * The exact detail JSON of each envelope this bus built, by its detail object. A side table rather than
 * a field, so envelopes keep EventBridge's shape for rules, tests and JSON.stringify; it follows the
 * detail object, so a shallow copy of an envelope keeps it.
 */
const detailJsonOf = new WeakMap<EventDetail, string>();

export function toEnvelope(
  entry: ValidEntry,
  context: { id: string; account: string; region: string },
): EventEnvelope {
  detailJsonOf.set(entry.detail, entry.detailJson);
  return {
    version: '0',
    id: context.id,
    'detail-type': entry.detailType,
    source: entry.source,
    account: context.account,
    time: formatEventTime(entry.time),
    region: context.region,
    resources: entry.resources,
    detail: entry.detail,
  };
}

/**
 * The envelope as JSON, as EventBridge delivers it to a target: its detail's numbers keep the digits the
 * publisher wrote. Write envelopes with this, not JSON.stringify, which prints the parsed numbers
 * (`9.994456683762355e+21` for `9994456683762355345868`). An envelope this bus did not build is
 * written with JSON.stringify.
 */
export function envelopeJson(envelope: EventEnvelope): string {
  const detail = detailJsonOf.get(envelope.detail);
  if (detail === undefined) return JSON.stringify(envelope);
  const head = JSON.stringify({ ...envelope, detail: undefined });
  return `${head.slice(0, -1)}${head === '{}' ? '' : ','}"detail":${detail}}`;
}
