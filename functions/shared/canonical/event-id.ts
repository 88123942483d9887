import { v5 as uuidv5 } from 'uuid';

/** A fixed namespace for this product's name-based ids (a random UUID, chosen once). */
const EVENT_ID_NAMESPACE = '6f1c8a52-3d0e-4c4b-9a57-2b8e0f6d4a11';

/**
 * The canonical event's `eventId`: a UUID v5 of `payment_id` + `event`, so every redelivery, every
 * retry after a partial failure and every replay of the same IPN carries the same id. A revision (a
 * later body with the same key and different content) adds its content hash: an id of its own, equally
 * stable across redeliveries and replays, and independent of the revision's number.
 */
export function eventIdFor(paymentId: string, event: string, revisionHash?: string): string {
  // JSON array as the name: unambiguous for any characters in either part.
  const name = revisionHash ? [paymentId, event, revisionHash] : [paymentId, event];
  return uuidv5(JSON.stringify(name), EVENT_ID_NAMESPACE);
}
