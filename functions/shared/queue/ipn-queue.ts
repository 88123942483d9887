import type { EventKey } from '../store/event-store.ts';

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
