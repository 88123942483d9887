/**
 * Why each DLQ message failed, from what can be checked now: the message itself, and the stored
 * event it refers to.
 */
import { entrySize, MAX_PUT_EVENTS_BYTES } from '../../shared/bus/event-bus.ts';
import { DEFAULT_EVENT_SOURCE } from '../../shared/canonical/constants.ts';
import { toCanonicalEvent } from '../../shared/canonical/normalise.ts';
import { InvalidQueueMessageError, parseQueuedIpn } from '../../shared/queue/parse-queued-ipn.ts';
import {
  type EventKey,
  type EventStore,
  eventKeyId,
  type StoredEvent,
} from '../../shared/store/event-store.ts';
import type { DeadLetter } from './dead-letter-queue.ts';

export type Verdict =
  | 'poison'
  | 'stored-event-missing'
  | 'stored-event-unreadable'
  | 'unpublishable'
  | 'publish-failed'
  | 'not-released'
  | 'already-published';

/** Why no retry can publish this stored event, or undefined when a retry may. */
function unpublishableReason(event: StoredEvent): string | undefined {
  try {
    const { entry } = toCanonicalEvent(event, { source: DEFAULT_EVENT_SOURCE });
    if (entrySize(entry) > MAX_PUT_EVENTS_BYTES) {
      return `its canonical event is ${entrySize(entry)} bytes, over the ${MAX_PUT_EVENTS_BYTES}-byte PutEvents limit`;
    }
    return undefined;
  } catch (error) {
    return `its canonical event cannot be built: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export interface DeadLetterDiagnosis extends DeadLetter {
  key?: EventKey;
  verdict: Verdict;
  reason: string;
}

function parseReference(body: string): EventKey | string {
  try {
    return parseQueuedIpn(body);
  } catch (error) {
    if (error instanceof InvalidQueueMessageError) return error.message;
    throw error;
  }
}

export async function diagnoseDeadLetters(
  letters: readonly DeadLetter[],
  store: Pick<EventStore, 'readMany'>,
): Promise<DeadLetterDiagnosis[]> {
  const parsed = letters.map((letter) => ({ letter, reference: parseReference(letter.body) }));
  const keys = parsed.flatMap(({ reference }) => (typeof reference === 'string' ? [] : [reference]));
  const read = await store.readMany(keys);
  const stored = new Map(read.events.map((event) => [eventKeyId(event), event]));
  const unreadable = new Map(read.unreadable.map((item) => [eventKeyId(item.key), item.error]));

  return parsed.map(({ letter, reference }): DeadLetterDiagnosis => {
    if (typeof reference === 'string') {
      return { ...letter, verdict: 'poison', reason: `poison message: ${reference}; it can never succeed` };
    }
    const event = stored.get(eventKeyId(reference));
    const readError = unreadable.get(eventKeyId(reference));
    if (readError) {
      return {
        ...letter,
        key: reference,
        verdict: 'stored-event-unreadable',
        reason: `stored item cannot be read (${readError.message}); no retry can publish it: fix or delete the item, then purge`,
      };
    }
    if (!event) {
      return {
        ...letter,
        key: reference,
        verdict: 'stored-event-missing',
        reason: 'stored event missing (expired or deleted)',
      };
    }
    if (event.status === 'published') {
      return {
        ...letter,
        key: reference,
        verdict: 'already-published',
        reason: `already published${event.publishedAt ? ` at ${event.publishedAt}` : ''} (safe to purge)`,
      };
    }
    if (event.status === 'held' || event.status === 'discarded') {
      return {
        ...letter,
        key: reference,
        verdict: 'not-released',
        reason: `a revision that is ${event.status}; it is published only by \`okepay revisions release\` (safe to purge)`,
      };
    }
    const unpublishable = unpublishableReason(event);
    if (unpublishable) {
      return {
        ...letter,
        key: reference,
        verdict: 'unpublishable',
        reason: `unpublishable: ${unpublishable}; redrive cannot help`,
      };
    }
    return {
      ...letter,
      key: reference,
      verdict: 'publish-failed',
      reason: 'publish failed; see consumer logs (redrive once the cause is fixed)',
    };
  });
}
