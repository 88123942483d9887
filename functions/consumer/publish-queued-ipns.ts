/**
 * The consumer use case: for a batch of queue messages, read the stored events they refer to, publish
 * the canonical event of each one not yet published, and mark it published. Returns one outcome per
 * message, so the handler can report exactly the messages that were not published as failed.
 *
 * I/O is per batch, not per message: one BatchGetItem for the batch, PutEvents in requests of 10,
 * then one conditional UpdateItem per published event.
 */
import type { EventBus } from '../shared/bus/event-bus.ts';
import { PERMANENT_ERROR_CODES, publishEntries } from '../shared/bus/publish-entries.ts';
import { type CanonicalEvent, type RawOnBus, toCanonicalEvent } from '../shared/canonical/normalise.ts';
import { type OrderingFact, orderingOf } from '../shared/canonical/ordering.ts';
import { type Log, METRICS, type MetricSink } from '../shared/observability.ts';
import { parseQueuedIpn } from '../shared/queue/parse-queued-ipn.ts';
import { StoredEventNotFoundError } from '../shared/store/errors.ts';
import {
  type EventKey,
  type EventStore,
  eventKeyId,
  keyOf,
  type StoredEvent,
} from '../shared/store/event-store.ts';
import {
  PoisonMessageError,
  PublishFailedError,
  UnpublishableEventError,
  UnreadableStoredEventError,
} from './errors.ts';

export interface QueueRecord {
  messageId: string;
  body: string;
}

export type RecordOutcome =
  | { status: 'published'; eventId: string }
  | { status: 'already-published' }
  /** A revision that is held for an operator or was discarded: never published from the queue. */
  | { status: 'not-publishable-now'; reason: string }
  | { status: 'failed'; error: Error };

export interface PublishQueuedIpnsDeps {
  store: Pick<EventStore, 'readMany' | 'markPublished' | 'recordPublishFailure' | 'orderingFacts'>;
  bus: EventBus;
  eventSource: string;
  /** What `detail.raw` carries (stack setting rawOnBus); default everything. */
  rawOnBus?: RawOnBus;
  now: () => number;
  /** Epoch ms after which no PutEvents retry starts. */
  deadline: number;
  log: Log;
  metrics: MetricSink;
  sleep?: (ms: number) => Promise<void>;
}

function parseMessage(body: string): EventKey {
  try {
    return parseQueuedIpn(body);
  } catch (error) {
    throw new PoisonMessageError(`The message is ${(error as Error).message}`, { cause: error });
  }
}

export async function publishQueuedIpns(
  records: readonly QueueRecord[],
  deps: PublishQueuedIpnsDeps,
): Promise<Map<string, RecordOutcome>> {
  const { log, metrics } = deps;
  const outcomes = new Map<string, RecordOutcome>();
  const keyByMessage = new Map<string, EventKey>();

  for (const record of records) {
    try {
      keyByMessage.set(record.messageId, parseMessage(record.body));
    } catch (error) {
      const poison = error as PoisonMessageError;
      metrics.addMetric(METRICS.poisonRecords, 'Count', 1);
      log.error('Poison message: it will reach the DLQ after maxReceiveCount receives', {
        messageId: record.messageId,
        reason: poison.message,
      });
      outcomes.set(record.messageId, { status: 'failed', error: poison });
    }
  }

  // Strongly consistent read: a message enqueued right after the put must see the item. An item that
  // exists but cannot be read fails its own records only; the rest of the batch publishes.
  const { events: stored, unreadable } = await deps.store.readMany([...keyByMessage.values()]);
  const storedById = new Map(stored.map((event) => [eventKeyId(event), event]));
  const unreadableById = new Map(unreadable.map((item) => [eventKeyId(item.key), item.error]));
  const outcomeById = new Map<string, RecordOutcome>();

  // One Query per payment of the batch, for the ordering signals (what else is stored for it). Each on
  // its own: a failed Query fails only that payment's records (retried from the queue), not the batch.
  const paymentIds = [...new Set(stored.map((event) => event.paymentId))];
  const factResults = await Promise.allSettled(paymentIds.map((id) => deps.store.orderingFacts([id])));
  const facts = new Map<string, OrderingFact[]>();
  const factErrors = new Map<string, Error>();
  paymentIds.forEach((paymentId, index) => {
    const result = factResults[index];
    if (result?.status === 'fulfilled') facts.set(paymentId, result.value.get(paymentId) ?? []);
    else
      factErrors.set(
        paymentId,
        result?.reason instanceof Error ? result.reason : new Error(String(result?.reason)),
      );
  });
  const toPublish: { event: StoredEvent; canonical: CanonicalEvent }[] = [];
  for (const key of new Map([...keyByMessage.values()].map((key) => [eventKeyId(key), key])).values()) {
    const id = eventKeyId(key);
    const event = storedById.get(id);
    const readError = unreadableById.get(id);
    if (readError) {
      metrics.addMetric(METRICS.poisonRecords, 'Count', 1);
      log.error('Stored event cannot be read: it will reach the DLQ after maxReceiveCount receives', {
        ...key,
        reason: readError.message,
      });
      outcomeById.set(id, {
        status: 'failed',
        error: new UnreadableStoredEventError(id, { cause: readError }),
      });
    } else if (!event) {
      metrics.addMetric(METRICS.poisonRecords, 'Count', 1);
      log.error('Queued IPN has no stored event: it will reach the DLQ after maxReceiveCount receives', {
        ...key,
      });
      outcomeById.set(id, { status: 'failed', error: new StoredEventNotFoundError(id) });
    } else if (event.status === 'published') {
      // A redelivery (okePay retried, or SQS delivered twice): it is on the bus already.
      metrics.addMetric(METRICS.eventsSkipped, 'Count', 1);
      log.info('Skipped an event that was already published', { ...key });
      outcomeById.set(id, { status: 'already-published' });
    } else if (event.status === 'held' || event.status === 'discarded') {
      // Only `okepay revisions release` publishes a held revision: it sets `received` and enqueues.
      log.warn('Skipped a revision that is not released for publishing', { ...key, status: event.status });
      outcomeById.set(id, { status: 'not-publishable-now', reason: event.status });
    } else if (factErrors.has(event.paymentId)) {
      const error = factErrors.get(event.paymentId) as Error;
      log.warn('The ordering facts of this payment could not be read; the message will be retried', {
        ...key,
        error,
      });
      outcomeById.set(id, { status: 'failed', error });
    } else {
      try {
        const ordering = orderingOf(event, facts.get(event.paymentId) ?? []);
        toPublish.push({
          event,
          canonical: toCanonicalEvent(event, {
            source: deps.eventSource,
            ordering,
            ...(deps.rawOnBus ? { rawOnBus: deps.rawOnBus } : {}),
          }),
        });
      } catch (error) {
        metrics.addMetric(METRICS.poisonRecords, 'Count', 1);
        metrics.addMetric(METRICS.unpublishableEvents, 'Count', 1);
        log.error('Stored event cannot be normalised: no retry can publish it; it will reach the DLQ', {
          ...key,
          error,
        });
        outcomeById.set(id, {
          status: 'failed',
          error: new UnpublishableEventError(id, (error as Error).message, { cause: error }),
        });
      }
    }
  }

  const results = await publishEntries(
    toPublish.map(({ canonical }) => canonical.entry),
    { bus: deps.bus, deadline: deps.deadline, now: deps.now, sleep: deps.sleep, metrics },
  );

  await Promise.all(
    toPublish.map(async ({ event, canonical }, index) => {
      const id = eventKeyId(event);
      const result = results[index];
      if (!result?.ok) {
        const errorCode = result?.errorCode ?? 'Unknown';
        const error = new PublishFailedError(errorCode, result?.errorMessage ?? '');
        if (PERMANENT_ERROR_CODES.has(errorCode)) {
          // The same entry gets the same answer on every retry: count it apart, so it is alarmed as
          // unpublishable rather than mistaken for a passing EventBridge outage.
          metrics.addMetric(METRICS.unpublishableEvents, 'Count', 1);
          log.error(
            'EventBridge refused the event for good: no retry can publish it; it will reach the DLQ',
            {
              ...keyOf(event),
              errorCode,
            },
          );
        } else {
          log.warn('Event not published; the message will be retried', { ...keyOf(event), errorCode });
        }
        outcomeById.set(id, { status: 'failed', error });
        return;
      }
      try {
        const first = await markPublishedWithRetry(event, result.eventId, deps);
        if (!first) {
          // Already marked: by another consumer that published the same event at the same time
          // (subscribers got it twice, with the same detail.eventId), or by an earlier attempt of
          // this one whose response was lost.
          log.warn('Event was already marked published', {
            ...keyOf(event),
            eventId: canonical.detail.eventId,
          });
        }
        metrics.addMetric(METRICS.eventsPublished, 'Count', 1);
        outcomeById.set(id, { status: 'published', eventId: canonical.detail.eventId });
      } catch (error) {
        // Published but not marked: failing the message means it is published again, with the same
        // eventId; succeeding would leave the item looking unpublished. A duplicate is the lesser harm.
        log.error('Event published but not marked published; the message will be retried', {
          ...keyOf(event),
          error,
        });
        outcomeById.set(id, { status: 'failed', error: error as Error });
      }
    }),
  );

  // For the payment's timeline (`okepay events show`): which stored events failed, when and why. Only
  // failures cost this write; a failing store here must not change the records' outcomes.
  const failedStored = [...storedById.values()].filter(
    (event) => outcomeById.get(eventKeyId(event))?.status === 'failed',
  );
  await Promise.all(
    failedStored.map(async (event) => {
      const outcome = outcomeById.get(eventKeyId(event));
      const reason = outcome?.status === 'failed' ? outcome.error.message : 'failed';
      try {
        await deps.store.recordPublishFailure(event, new Date(deps.now()).toISOString(), reason);
      } catch (error) {
        log.warn('Could not record a publish failure on the stored event', { ...keyOf(event), error });
      }
    }),
  );

  for (const [messageId, key] of keyByMessage) {
    outcomes.set(
      messageId,
      outcomeById.get(eventKeyId(key)) ?? { status: 'failed', error: new Error('No outcome') },
    );
  }
  return outcomes;
}

const MARK_ATTEMPTS = 5;

/**
 * The event is on the bus: failing to mark it would fail the message and publish it again. A few
 * more tries of the cheap conditional update are worth it before accepting that duplicate.
 */
async function markPublishedWithRetry(
  event: StoredEvent,
  busEventId: string,
  deps: PublishQueuedIpnsDeps,
): Promise<boolean> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.store.markPublished(event, new Date(deps.now()).toISOString(), busEventId);
    } catch (error) {
      const delay = 50 * 2 ** attempt;
      // Past the invocation's deadline the margin is for answering, not for more tries: the message
      // fails, and its retry finds the event published or publishes it once more (same eventId).
      if (
        error instanceof StoredEventNotFoundError ||
        attempt >= MARK_ATTEMPTS ||
        deps.now() + delay > deps.deadline
      ) {
        throw error;
      }
      await sleep(delay);
    }
  }
}
