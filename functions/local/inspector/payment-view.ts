/**
 * What the inspector shows of one payment: the timeline `okepay events show --local --body` prints,
 * built by the same functions from the same sources (`timelineSources`, `paymentTimeline`,
 * `renderTimeline`), plus what only this process knows: each bus event's target deliveries and how
 * they ended, and the canonical event exactly as the bus took it.
 */
import { parse as parseLosslessJson, stringify as stringifyLosslessJson } from 'lossless-json';
import { renderTimeline, timelineSources } from '../../../bin/commands/events.ts';
import type { Target } from '../../../bin/commands/targets.ts';
import {
  type BusRecordEntry,
  canonicalEventOf,
  type PaymentTimeline,
  paymentTimeline,
  type StoredEventView,
} from '../../operations/payment-timeline.ts';
import type { SignatureScheme } from '../../shared/ipn/signature.ts';
import { signatureHeader } from '../../shared/ipn/signature.ts';
import { DynamoDbEventStore } from '../../shared/store/dynamodb-event-store.ts';
import type { StoredRejectedIpn } from '../../shared/store/event-store.ts';
import type { EventEnvelope } from '../event-bus-put-events.ts';
import { envelopeJson } from '../event-bus-put-events.ts';
import type { DeliveryRecord, LiveRecord } from './live-record.ts';

export interface PaymentView extends Omit<PaymentTimeline, 'events' | 'rejected'> {
  events: (Omit<StoredEventView, 'body'> & {
    body: string;
    /** The canonical event: as the bus accepted it in this run, else as the consumer builds it. */
    canonical: { from: 'bus' | 'computed'; json: string };
  })[];
  rejected: (Omit<StoredRejectedIpn, 'body'> & { body: string })[];
  /** The bus's record of this payment (bus.jsonl, matches.jsonl) with this run's delivery results. */
  bus: (BusRecordEntry & { deliveries?: DeliveryRecord[] })[];
  /** `okepay events show PAYMENT_ID --local --body`, as the CLI prints it. */
  text: string;
}

export interface PaymentViewDeps {
  target: Target;
  dataDir: string;
  live: LiveRecord;
  /** The envelopes the local bus accepted in this run (bounded). */
  busEvents: readonly EventEnvelope[];
}

/** Pretty JSON text that keeps every number's digits. */
function prettyJson(text: string): string {
  try {
    return stringifyLosslessJson(parseLosslessJson(text), undefined, 2) ?? text;
  } catch {
    // Not JSON after all: shown as it is.
    return text;
  }
}

function canonicalOf(
  event: StoredEventView,
  busEvents: readonly EventEnvelope[],
  eventSource: string,
): { from: 'bus' | 'computed'; json: string } {
  for (let index = busEvents.length - 1; index >= 0; index--) {
    const envelope = busEvents[index] as EventEnvelope;
    const detail = envelope.detail as { eventId?: unknown; replay?: unknown };
    if (detail.eventId === event.eventId && detail.replay === undefined) {
      return { from: 'bus', json: prettyJson(envelopeJson(envelope)) };
    }
  }
  try {
    const { entry } = canonicalEventOf(event, eventSource);
    return {
      from: 'computed',
      json: prettyJson(
        `{"source":${JSON.stringify(entry.source)},"detail-type":${JSON.stringify(entry.detailType)},"detail":${entry.detail}}`,
      ),
    };
  } catch (error) {
    return {
      from: 'computed',
      json: `(not valid as an IPN now: ${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

export async function paymentView(paymentId: string, deps: PaymentViewDeps): Promise<PaymentView> {
  const { target, dataDir, live } = deps;
  const store = new DynamoDbEventStore(target.dynamoDb, target.tableName);
  const sources = timelineSources(target, store, dataDir);
  const timeline = await paymentTimeline(paymentId, sources);
  const busRecord = (await sources.busRecord?.(paymentId)) ?? [];
  return {
    paymentId: timeline.paymentId,
    orderRefs: timeline.orderRefs,
    entries: timeline.entries,
    unknowns: timeline.unknowns,
    events: timeline.events.map((event) => ({
      ...event,
      body: event.body.toString('utf8'),
      canonical: canonicalOf(event, deps.busEvents, target.eventSource),
    })),
    rejected: timeline.rejected.map((item) => ({ ...item, body: item.body.toString('utf8') })),
    bus: busRecord.map((entry) => {
      const deliveries = live.busEvent(entry.id)?.deliveries;
      return deliveries ? { ...entry, deliveries } : entry;
    }),
    text: renderTimeline(timeline, target, true),
  };
}

/** A shell word: single-quoted, with each `'` closed, escaped and reopened. */
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command that sends `rawBody` to the local endpoint signed now with the local secret: pasted
 * within the signature tolerance, it verifies.
 */
export function curlCommand(options: {
  ipnUrl: string;
  rawBody: Buffer;
  secret: string;
  scheme: SignatureScheme;
  nowMs: number;
}): string {
  const header = signatureHeader({
    rawBody: options.rawBody,
    secret: options.secret,
    scheme: options.scheme,
    timestamp: Math.floor(options.nowMs / 1000),
  });
  const common = `curl -sS -X POST ${shellQuote(options.ipnUrl)} -H 'content-type: application/json' -H ${shellQuote(`x-okepay-signature: ${header}`)}`;
  const text = options.rawBody.toString('utf8');
  // A body that is not UTF-8 (or holds a NUL) cannot travel in a shell word: it goes through base64.
  if (Buffer.from(text).equals(options.rawBody) && !text.includes('\0')) {
    return `${common} --data-binary ${shellQuote(text)}`;
  }
  return `printf %s ${shellQuote(options.rawBody.toString('base64'))} | base64 -d | ${common} --data-binary @-`;
}
