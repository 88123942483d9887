/**
 * What the inspector page lists live, kept in memory and bounded: each IPN the local endpoint answered
 * (the request, the answer and its verdict), each event the local bus accepted, the rules it matched
 * and how each target delivery ended. Everything here is for display: the stored record stays the
 * table, bus.jsonl and matches.jsonl, which the payment timeline reads.
 *
 * Bodies and headers are kept as received, including markup: they are escaped where they are shown
 * (the page renders text only), never here.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isLosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import type { LocalTarget } from '../../shared/rules/rule-file.ts';
import type { EventEnvelope } from '../event-bus-put-events.ts';
import type { SignatureFailure } from '../recent-signature-failures.ts';

export type Verdict =
  | 'accepted'
  | 'duplicate'
  | 'revision'
  | 'revision-held'
  | 'rejected'
  | 'unauthorized'
  | 'refused'
  | 'unavailable';

/** One row of the live list. */
export interface IpnRow {
  /** 1, 2, 3... in the order the answers were written. */
  id: number;
  receivedAt: string;
  status: number;
  verdict: Verdict;
  /** One line for a person: "accepted", "revision 2 held", "rejected: currency: ...". */
  summary: string;
  /** Validation reasons of a rejected IPN. */
  reasons?: string[];
  /** What the body says, when it is JSON (unverified for a 401: shown as text, never trusted). */
  paymentId?: string;
  event?: string;
  orderRef?: string;
  amount?: string;
  currency?: string;
  revision?: number;
  bodySha256: string;
  /** The 401's entry in the pipeline's recent signature failures, with the doctor's diagnosis. */
  signatureFailureId?: number;
  diagnosis?: Pick<SignatureFailure['diagnosis'], 'verdict' | 'title' | 'explanation' | 'fix'>;
}

export interface IpnExchange {
  row: IpnRow;
  request: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
    bodyEncoding: 'utf8' | 'base64';
    bodyBytes: number;
    bodyTruncated: boolean;
  };
  response: { status: number; body: string };
}

export interface BusEventRecord {
  busEventId: string;
  at: string;
  eventId: string;
  paymentId: string;
  event: string;
  revision?: number;
  replayId?: string;
  rules: string[];
  deliveries: DeliveryRecord[];
}

export interface DeliveryRecord {
  rule: string;
  target: LocalTarget;
  state: 'pending' | 'delivered' | 'failed';
  error?: string;
  at: string;
}

/** What the page is told as it happens (server-sent events). */
export type LiveChange =
  | { kind: 'ipn'; row: IpnRow }
  | { kind: 'bus'; record: BusEventRecord }
  | { kind: 'signature-failure'; failure: SignatureFailure };

export const MAX_ROWS = 500;
export const MAX_BUS_EVENTS = 2_000;
/** Bodies beyond this are cut in the live record (the stored copy is whole). */
export const MAX_KEPT_BODY_BYTES = 64 * 1024;
const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parsedBody(rawBody: Buffer): Record<string, unknown> | undefined {
  try {
    const value = parseLosslessJson(rawBody.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    // Not JSON: nothing to show beyond the bytes themselves.
    return undefined;
  }
}

const text = (value: unknown) =>
  typeof value === 'string' ? value : isLosslessNumber(value) ? value.toString() : undefined;

function parsedAnswer(body: string | undefined): Record<string, unknown> {
  try {
    const value = JSON.parse(body ?? '') as unknown;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The verdict of an answer of the ingest handler, as README's table of answers names them. */
export function verdictOf(
  status: number,
  answerBody: string | undefined,
): Pick<IpnRow, 'verdict' | 'summary' | 'reasons' | 'revision'> {
  const answer = parsedAnswer(answerBody);
  if (status === 200 && answer.status === 'revision') {
    const revision = typeof answer.revision === 'number' ? answer.revision : undefined;
    const held = answer.held === true;
    return {
      verdict: held ? 'revision-held' : 'revision',
      summary: `revision ${revision ?? '?'}${held ? ' held' : ' published'}${answer.duplicate === true ? ' (received before)' : ''}`,
      ...(revision === undefined ? {} : { revision }),
    };
  }
  if (status === 200 && answer.status === 'duplicate') {
    return {
      verdict: 'duplicate',
      summary: answer.expired === true ? 'duplicate (stored copy expired)' : 'duplicate',
    };
  }
  if (status >= 200 && status < 300) return { verdict: 'accepted', summary: 'accepted' };
  if (status === 401) {
    return { verdict: 'unauthorized', summary: `401 ${text(answer.reason) ?? 'invalid signature'}` };
  }
  if (status === 400 && Array.isArray(answer.errors)) {
    const reasons = (answer.errors as { path?: unknown; message?: unknown }[]).map((issue) =>
      issue.path ? `${String(issue.path)}: ${String(issue.message)}` : String(issue.message),
    );
    return { verdict: 'rejected', summary: `rejected: ${reasons.join('; ')}`, reasons };
  }
  if (status === 400 || status === 413 || status === 415) {
    const why = text(answer.message) ?? text(answer.error) ?? `HTTP ${status}`;
    return { verdict: status === 415 ? 'rejected' : 'refused', summary: `${status}: ${why}`, reasons: [why] };
  }
  return { verdict: 'unavailable', summary: `${status}: ${text(answer.message) ?? 'not accepted'}` };
}

function keptBody(rawBody: Buffer) {
  const kept = rawBody.subarray(0, MAX_KEPT_BODY_BYTES);
  let body: string;
  let bodyEncoding: 'utf8' | 'base64' = 'utf8';
  try {
    body = utf8.decode(kept);
  } catch {
    body = kept.toString('base64');
    bodyEncoding = 'base64';
  }
  return { body, bodyEncoding, bodyBytes: rawBody.length, bodyTruncated: kept.length < rawBody.length };
}

type Listener = (change: LiveChange) => void;

export class LiveRecord {
  private readonly exchanges: IpnExchange[] = [];
  private readonly busEvents = new Map<string, BusEventRecord>();
  private readonly listeners = new Set<Listener>();
  private nextId = 1;

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Calls `listener` with each change from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(change: LiveChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /**
   * An answer of the local IPN endpoint. `failure` is the pipeline's record of the same request when it
   * was a 401 (recorded just before, in the same synchronous step).
   */
  addIpn(
    exchange: { event: APIGatewayProxyEventV2; rawBody: Buffer; result: APIGatewayProxyStructuredResultV2 },
    failure: SignatureFailure | undefined,
  ): IpnRow {
    const { event, rawBody, result } = exchange;
    const status = result.statusCode ?? 200;
    const answerBody =
      result.body === undefined
        ? ''
        : result.isBase64Encoded
          ? Buffer.from(result.body, 'base64').toString('utf8')
          : result.body;
    const fields = parsedBody(rawBody) ?? {};
    const paymentId = text(fields.payment_id);
    const type = text(fields.event);
    const orderRef = text(fields.order_ref);
    const amount = text(fields.amount);
    const currency = text(fields.currency);
    const row: IpnRow = {
      id: this.nextId++,
      receivedAt: new Date(event.requestContext.timeEpoch).toISOString(),
      status,
      ...verdictOf(status, answerBody),
      ...(paymentId === undefined ? {} : { paymentId }),
      ...(type === undefined ? {} : { event: type }),
      ...(orderRef === undefined ? {} : { orderRef }),
      ...(amount === undefined ? {} : { amount }),
      ...(currency === undefined ? {} : { currency }),
      bodySha256: createHash('sha256').update(rawBody).digest('hex'),
      ...(failure
        ? {
            signatureFailureId: failure.id,
            diagnosis: {
              verdict: failure.diagnosis.verdict,
              title: failure.diagnosis.title,
              explanation: failure.diagnosis.explanation,
              fix: failure.diagnosis.fix,
            },
          }
        : {}),
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers)) {
      if (value !== undefined) headers[name] = REDACTED_HEADERS.has(name) ? '(redacted)' : value;
    }
    this.exchanges.unshift({
      row,
      request: {
        method: event.requestContext.http.method,
        path: event.rawPath,
        headers,
        ...keptBody(rawBody),
      },
      response: { status, body: answerBody },
    });
    if (this.exchanges.length > MAX_ROWS) this.exchanges.length = MAX_ROWS;
    this.emit({ kind: 'ipn', row });
    return row;
  }

  /** An event the local bus accepted. */
  addBusEvent(envelope: EventEnvelope): void {
    const detail = envelope.detail as {
      paymentId?: unknown;
      eventId?: unknown;
      revision?: unknown;
      replay?: { replayId?: unknown };
    };
    const record: BusEventRecord = {
      busEventId: envelope.id,
      at: new Date().toISOString(),
      eventId: typeof detail.eventId === 'string' ? detail.eventId : '',
      paymentId: typeof detail.paymentId === 'string' ? detail.paymentId : '',
      event: envelope['detail-type'],
      ...(typeof detail.revision === 'number' ? { revision: detail.revision } : {}),
      ...(typeof detail.replay?.replayId === 'string' ? { replayId: detail.replay.replayId } : {}),
      rules: [],
      deliveries: [],
    };
    this.busEvents.set(envelope.id, record);
    if (this.busEvents.size > MAX_BUS_EVENTS) {
      const oldest = this.busEvents.keys().next().value;
      if (oldest !== undefined) this.busEvents.delete(oldest);
    }
    this.emit({ kind: 'bus', record });
  }

  /** A rule matched a bus event: its targets are being delivered to. */
  addMatch(busEventId: string, rule: string, targets: readonly LocalTarget[]): void {
    const record = this.busEvents.get(busEventId);
    if (!record) return;
    record.rules.push(rule);
    const at = new Date().toISOString();
    for (const target of targets) record.deliveries.push({ rule, target, state: 'pending', at });
    this.emit({ kind: 'bus', record });
  }

  /** A delivery ended. */
  settleDelivery(busEventId: string, rule: string, target: LocalTarget, error: unknown): void {
    const record = this.busEvents.get(busEventId);
    if (!record) return;
    const delivery = record.deliveries.find(
      (entry) => entry.rule === rule && entry.state === 'pending' && entry.target === target,
    );
    const settled: DeliveryRecord = {
      rule,
      target,
      state: error === undefined ? 'delivered' : 'failed',
      ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
      at: new Date().toISOString(),
    };
    if (delivery) Object.assign(delivery, settled);
    else record.deliveries.push(settled);
    this.emit({ kind: 'bus', record });
  }

  signatureFailure(failure: SignatureFailure): void {
    this.emit({ kind: 'signature-failure', failure });
  }

  /** Newest first. */
  rows(limit = MAX_ROWS): IpnRow[] {
    return this.exchanges.slice(0, limit).map((exchange) => exchange.row);
  }

  exchange(id: number): IpnExchange | undefined {
    return this.exchanges.find((exchange) => exchange.row.id === id);
  }

  /** The bus events of this run that carry the payment, oldest first. */
  busEventsOf(paymentId: string): BusEventRecord[] {
    return [...this.busEvents.values()].filter((record) => record.paymentId === paymentId);
  }

  busEvent(busEventId: string): BusEventRecord | undefined {
    return this.busEvents.get(busEventId);
  }
}
