/**
 * Reading which stored events a replay selects, through the table's key and indexes. The candidates
 * carry the attributes the indexes project, not the bodies: those are read later, a page at a time,
 * with the store's consistent `getMany`.
 */
import type { EventKey } from '../shared/store/event-store.ts';
import { eventKey, paymentKey, revisionKey } from '../shared/store/table-design.ts';

/** A stored event as a selection query returns it. */
export interface ReplayCandidate extends EventKey {
  orderRef: string;
  /**
   * `received`, `published`. Anything else is never replayed: `rejected` bodies, and revisions that
   * are `held` (release them first) or `discarded`.
   */
  status: string;
  /** ISO 8601 UTC, as the ingest function wrote it. */
  receivedAt: string;
}

/** One request against the table. `from`/`to` bound the `receivedKey` sort key (see {@link orderKeyOf}). */
export type SelectionQuery =
  | { kind: 'payment'; paymentId: string }
  | { kind: 'order-ref'; orderRef: string; from?: string; to: string }
  | { kind: 'received-day'; day: string; from?: string; to: string }
  | { kind: 'scan' };

export interface StoredEventQuery {
  /**
   * Every stored event the query finds (all pages). Only payment events are returned: rejected bodies
   * and replay progress items, which share the table, are left out.
   */
  run(query: SelectionQuery): Promise<ReplayCandidate[]>;
}

/**
 * The replay's total order, and its resume cursor: `<receivedAt>#PAYMENT#<id>#EVENT#<event>`, the same
 * string as the `receivedKey` sort key of both indexes, so index ranges and the cursor agree. Unique
 * per stored event, since `pk` + `sk` is.
 */
export function orderKeyOf(
  candidate: Pick<ReplayCandidate, 'receivedAt' | 'paymentId' | 'event' | 'revisionHash'>,
): string {
  const sortKey = candidate.revisionHash
    ? revisionKey(candidate.event, candidate.revisionHash)
    : eventKey(candidate.event);
  return `${candidate.receivedAt}#${paymentKey(candidate.paymentId)}#${sortKey}`;
}
