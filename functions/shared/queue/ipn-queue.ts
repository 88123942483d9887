import { type EventKey, keyOf, type StoredEvent } from '../store/event-store.ts';

/**
 * What the ingest function enqueues: a reference to the stored event, not the event. The stored item
 * stays the single source of truth, and the consumer reads its current status before publishing.
 */
export interface QueuedIpn extends EventKey {
  /** Message format version. */
  v: 1;
  bodySha256: string;
  receivedAt: string;
}

export interface IpnQueue {
  enqueue(message: QueuedIpn): Promise<void>;
}

/** The queue message that refers to a stored event (its key, and two fields for the logs). */
export function queuedIpnOf(
  event: Pick<StoredEvent, 'paymentId' | 'event' | 'revisionHash' | 'bodySha256' | 'receivedAt'>,
): QueuedIpn {
  return { v: 1, ...keyOf(event), bodySha256: event.bodySha256, receivedAt: event.receivedAt };
}
