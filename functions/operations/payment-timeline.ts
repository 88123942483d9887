/**
 * What happened to one payment, in order: every IPN received for it (and how often each content was
 * delivered again), rejected bodies that named it, what was stored, held, released or discarded,
 * enqueued again by the sweeper, failed to publish, published (with the bus's event id), replayed,
 * and sitting in the DLQ. The CLI (`okepay events show`, locally and on a stack) and the local
 * inspector page both build it here, from the same sources.
 *
 * Where the stored record cannot know something, the timeline says so in `unknowns` rather than
 * guessing: which subscriber rules matched in AWS (EventBridge does not say), the time of each
 * redelivery between the first and the last, the replays on a stack.
 */

import { eventIdFor } from '../shared/canonical/event-id.ts';
import { type CanonicalEvent, toCanonicalEvent } from '../shared/canonical/normalise.ts';
import { parseQueuedIpn } from '../shared/queue/parse-queued-ipn.ts';
import type { EventStateStore, StateEntry } from '../shared/store/event-states.ts';
import {
  type EventKey,
  type EventStore,
  eventKeyId,
  type PaymentRecord,
  type PublishHistory,
  type StoredEvent,
  type StoredRejectedIpn,
} from '../shared/store/event-store.ts';
import type { DeadLetter } from './dead-letters/dead-letter-queue.ts';

export type TimelineKind =
  | 'received'
  | 'redelivered'
  | 'rejected'
  | 'reprocessed'
  | 'stored'
  | 'held'
  | 'released'
  | 'discarded'
  | 'swept'
  | 'publish-failed'
  | 'published'
  | 'on-bus'
  | 'replayed'
  | 'dead-lettered';

export interface TimelineEntry {
  /** ISO 8601 UTC; entries are sorted by it. */
  at: string;
  kind: TimelineKind;
  event?: string;
  revision?: number;
  /** The canonical event's `detail.eventId`, where the entry is about a stored event. */
  eventId?: string;
  /** One line for a person. */
  text: string;
}

/** One event on the bus that carries this payment (the local pipeline keeps that record). */
export interface BusRecordEntry {
  /** EventBridge's id of this publish. */
  id: string;
  /** When the bus accepted it. */
  at: string;
  eventId: string;
  event: string;
  revision?: number;
  replayId?: string;
  /** Rules that matched it, when known (the local bus knows; EventBridge does not say). */
  rules?: string[];
}

export interface StoredEventView extends EventKey {
  revision: number;
  status: string;
  orderRef: string;
  eventId: string;
  receivedAt: string;
  publishedAt?: string;
  busEventId?: string;
  bodySha256: string;
  body: Buffer;
  reprocessedFrom?: string;
}

export interface PaymentTimeline {
  paymentId: string;
  orderRefs: string[];
  /** The stored events (first copies and revisions), oldest first. */
  events: StoredEventView[];
  /** Rejected bodies that named this payment (waiting or reprocessed). */
  rejected: StoredRejectedIpn[];
  entries: TimelineEntry[];
  /** What this timeline cannot tell, said plainly. */
  unknowns: string[];
}

export interface TimelineSources {
  store: Pick<EventStore, 'paymentRecord'> & Pick<EventStateStore, 'listState' | 'getRejected'>;
  /** The DLQ's messages (peeked, not deleted); left out when the DLQ cannot be read. */
  deadLetters?: () => Promise<DeadLetter[]>;
  /** The bus's record of this payment's events (the local pipeline's bus.jsonl). */
  busRecord?: (paymentId: string) => Promise<BusRecordEntry[]>;
}

const skewText = (seconds: number | undefined) =>
  seconds === undefined
    ? ''
    : `, signature t ${seconds === 0 ? 'equal to' : `${Math.abs(seconds)} s ${seconds < 0 ? 'before' : 'after'}`} receipt`;

const short = (hash: string) => hash.slice(0, 12);

function eventIdOf(event: Pick<StoredEvent, 'paymentId' | 'event' | 'revisionHash'>): string {
  return eventIdFor(event.paymentId, event.event, event.revisionHash);
}

/** A revision that was held on arrival: still held, or released or discarded since (statusChangedAt). */
const wasHeld = (event: StoredEvent & PublishHistory) =>
  event.revision > 1 && (event.status === 'held' || event.statusChangedAt !== undefined);

function storedEntries(event: StoredEvent & PublishHistory): TimelineEntry[] {
  const base = { event: event.event, revision: event.revision, eventId: eventIdOf(event) };
  const name = `${event.event}${event.revision > 1 ? ` revision ${event.revision}` : ''}`;
  const entries: TimelineEntry[] = [
    {
      ...base,
      at: event.receivedAt,
      kind: 'stored',
      text: `stored ${name}${event.reprocessedFrom ? ` (reprocessed from ${event.reprocessedFrom})` : ''} and ${
        wasHeld(event) ? 'held for an operator' : 'enqueued'
      }`,
    },
  ];
  if (event.revision > 1 && event.statusChangedAt) {
    // A revision that was held and then released or discarded.
    const kind = event.status === 'discarded' ? 'discarded' : 'released';
    entries.push({
      ...base,
      at: event.statusChangedAt,
      kind,
      text:
        kind === 'discarded'
          ? `${name} discarded by an operator`
          : `${name} released by an operator and enqueued`,
    });
  } else if (event.status === 'held') {
    entries.push({
      ...base,
      at: event.receivedAt,
      kind: 'held',
      text: `${name} is held: okepay revisions release|discard`,
    });
  }
  if (event.sweptAt) {
    entries.push({
      ...base,
      at: event.sweptAt,
      kind: 'swept',
      text: `${name} still unpublished: enqueued again by the sweeper (${event.sweepCount ?? 1} time${(event.sweepCount ?? 1) === 1 ? '' : 's'})`,
    });
  }
  if (event.lastFailureAt) {
    entries.push({
      ...base,
      at: event.lastFailureAt,
      kind: 'publish-failed',
      text: `publishing ${name} failed ${event.failureCount ?? 1} time${(event.failureCount ?? 1) === 1 ? '' : 's'}; last: ${event.lastFailureReason ?? 'unknown'}`,
    });
  }
  if (event.publishedAt) {
    entries.push({
      ...base,
      at: event.publishedAt,
      kind: 'published',
      text: `published ${name} as eventId ${base.eventId}${event.busEventId ? ` (bus event ${event.busEventId})` : ''}`,
    });
  }
  return entries;
}

function markerEntries(
  record: PaymentRecord,
  contentOf: Map<string, StoredEvent & PublishHistory>,
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const marker of record.markers) {
    const stored = contentOf.get(`${marker.event}#${marker.contentSha256}`);
    const what = stored
      ? `${marker.event}${stored.revision > 1 ? ` revision ${stored.revision}` : ''}`
      : marker.event;
    const first = marker.firstDeliveredAt;
    if (first) {
      entries.push({
        at: first,
        kind: 'received',
        event: marker.event,
        ...(stored ? { revision: stored.revision, eventId: eventIdOf(stored) } : {}),
        text: `received ${what} (content ${short(marker.contentSha256)}), verdict: ${
          !stored
            ? 'accepted'
            : stored.revision > 1
              ? (stored.status === 'held' ? 'revision held' : `revision ${stored.revision}`)
              : 'accepted'
        }${marker.deliveryCount === 1 ? skewText(marker.lastSignatureSkewSeconds) : ''}`,
      });
    }
    if (marker.deliveryCount > 1 && marker.lastDeliveredAt) {
      entries.push({
        at: marker.lastDeliveredAt,
        kind: 'redelivered',
        event: marker.event,
        ...(stored ? { revision: stored.revision, eventId: eventIdOf(stored) } : {}),
        text: `received the same ${what} ${marker.deliveryCount - 1} more time${marker.deliveryCount === 2 ? '' : 's'} (last here), verdict: duplicate${skewText(marker.lastSignatureSkewSeconds)}`,
      });
    }
  }
  return entries;
}

export async function paymentTimeline(paymentId: string, sources: TimelineSources): Promise<PaymentTimeline> {
  const record = await sources.store.paymentRecord(paymentId);
  const events = [...record.events].sort(
    (a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.revision - b.revision,
  );
  const contentOf = new Map<string, StoredEvent & PublishHistory>();
  for (const event of events) {
    const content = event.revisionHash ?? event.contentSha256;
    if (content) contentOf.set(`${event.event}#${content}`, event);
  }

  const entries: TimelineEntry[] = [...markerEntries(record, contentOf), ...events.flatMap(storedEntries)];

  // Rejected bodies: those waiting (found by the payment id they seemed to carry) and those reprocessed
  // into one of this payment's events.
  const rejected: StoredRejectedIpn[] = [];
  const waiting = (await sources.store.listState('rejected')).filter(
    (entry: StateEntry) => entry.paymentIdHint === paymentId,
  );
  const shas = new Set([
    ...waiting.map((entry) => entry.bodySha256),
    ...events.flatMap((event) =>
      event.reprocessedFrom ? [event.reprocessedFrom.replace(/^REJECTED#/, '')] : [],
    ),
  ]);
  for (const sha of shas) {
    const item = await sources.store.getRejected(sha);
    if (!item) continue;
    rejected.push(item);
    const reasons = item.issues
      .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
      .join('; ');
    entries.push({
      at: item.receivedAt,
      kind: 'rejected',
      ...(item.eventHint ? { event: item.eventHint } : {}),
      text: `received a signed body (${short(item.bodySha256)}) that failed validation, answered ${item.httpStatus}: ${reasons}${skewText(item.signatureTimestamp - Math.floor(Date.parse(item.receivedAt) / 1000))}`,
    });
    if (item.reprocessedAt) {
      entries.push({
        at: item.reprocessedAt,
        kind: 'reprocessed',
        ...(item.reprocessedAs ? { event: item.reprocessedAs.event } : {}),
        text: `rejected body ${short(item.bodySha256)} reprocessed after a fix into ${item.reprocessedAs ? `${item.reprocessedAs.event}` : 'a stored event'}`,
      });
    }
  }

  const unknowns: string[] = [];
  if (sources.busRecord) {
    for (const published of await sources.busRecord(paymentId)) {
      entries.push({
        at: published.at,
        kind: published.replayId ? 'replayed' : 'on-bus',
        event: published.event,
        ...(published.revision ? { revision: published.revision } : {}),
        eventId: published.eventId,
        text: `${published.replayId ? `replayed (${published.replayId})` : 'on the bus'} as bus event ${published.id}${
          published.rules
            ? `; rules matched: ${published.rules.length > 0 ? published.rules.join(', ') : 'none'}`
            : ''
        }`,
      });
    }
  } else {
    unknowns.push(
      "Which subscriber rules matched: EventBridge does not say per event (the rules' MatchedEvents metrics and the audited rules' log groups do, in aggregate).",
      'Replays on a stack are recorded per replay (okepay replay), not per event.',
    );
  }
  if (sources.deadLetters) {
    const letters = await sources.deadLetters();
    const ids = new Set(events.map((event) => eventKeyId(event)));
    for (const letter of letters) {
      let key: EventKey;
      try {
        key = parseQueuedIpn(letter.body);
      } catch {
        continue;
      }
      if (key.paymentId !== paymentId || !ids.has(eventKeyId(key))) continue;
      entries.push({
        at: letter.sentAt ?? new Date(0).toISOString(),
        kind: 'dead-lettered',
        event: key.event,
        text: `a message of ${key.event} is in the DLQ (message ${letter.messageId}): okepay dlq list`,
      });
    }
  } else {
    unknowns.push('Whether a message of this payment is in the DLQ now: the DLQ was not read.');
  }
  if (record.markers.some((marker) => marker.deliveryCount > 2)) {
    unknowns.push('The times of redeliveries between the first and the last are not kept, only their count.');
  }

  entries.sort((a, b) => a.at.localeCompare(b.at) || order(a.kind) - order(b.kind));
  return {
    paymentId,
    orderRefs: [...new Set(events.map((event) => event.orderRef))],
    events: events.map((event) => ({
      paymentId: event.paymentId,
      event: event.event,
      ...(event.revisionHash ? { revisionHash: event.revisionHash } : {}),
      revision: event.revision,
      status: event.status,
      orderRef: event.orderRef,
      eventId: eventIdOf(event),
      receivedAt: event.receivedAt,
      ...(event.publishedAt ? { publishedAt: event.publishedAt } : {}),
      ...(event.busEventId ? { busEventId: event.busEventId } : {}),
      bodySha256: event.bodySha256,
      body: event.body,
      ...(event.reprocessedFrom ? { reprocessedFrom: event.reprocessedFrom } : {}),
    })),
    rejected,
    entries,
    unknowns,
  };
}

/**
 * The canonical event a stored event of the timeline makes, as the consumer builds it. The view keeps
 * what the normaliser reads (body, revision, receivedAt); the other fields of a stored item never reach
 * the event, so they are filled with placeholders here, in one place. Throws what the normaliser throws
 * (a body no longer valid as an IPN).
 */
export function canonicalEventOf(event: StoredEventView, source: string): CanonicalEvent {
  return toCanonicalEvent(
    { ...event, signatureTimestamp: 0, occurredAt: '', conflictCount: 0, expiresAt: 0, status: 'received' },
    { source },
  );
}

/** Same instant: the order things happen in. */
const KIND_ORDER: TimelineKind[] = [
  'rejected',
  'received',
  'reprocessed',
  'stored',
  'held',
  'released',
  'discarded',
  'swept',
  'publish-failed',
  'on-bus',
  'published',
  'redelivered',
  'replayed',
  'dead-lettered',
];
const order = (kind: TimelineKind) => KIND_ORDER.indexOf(kind);
