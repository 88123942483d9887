/**
 * Why each DLQ message failed, from what can be checked now: the message itself, and the stored
 * event it refers to.
 */
import { InvalidQueueMessageError, parseQueuedIpn } from '../shared/queue/parse-queued-ipn.ts';
import { type EventKey, type EventStore, eventKeyId } from '../shared/store/event-store.ts';
import type { DeadLetter } from './dead-letter-queue.ts';

export type Verdict = 'poison' | 'stored-event-missing' | 'publish-failed' | 'already-published';

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
  store: Pick<EventStore, 'getMany'>,
): Promise<DeadLetterDiagnosis[]> {
  const parsed = letters.map((letter) => ({ letter, reference: parseReference(letter.body) }));
  const keys = parsed.flatMap(({ reference }) => (typeof reference === 'string' ? [] : [reference]));
  const stored = new Map((await store.getMany(keys)).map((event) => [eventKeyId(event), event]));

  return parsed.map(({ letter, reference }): DeadLetterDiagnosis => {
    if (typeof reference === 'string') {
      return { ...letter, verdict: 'poison', reason: `poison message: ${reference}; it can never succeed` };
    }
    const event = stored.get(eventKeyId(reference));
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
    return {
      ...letter,
      key: reference,
      verdict: 'publish-failed',
      reason: 'publish failed; see consumer logs (redrive once the cause is fixed)',
    };
  });
}
