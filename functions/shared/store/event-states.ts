/**
 * The states in which a stored item waits for something: `pending` (stored, not yet published),
 * `held` (a revision waiting for an operator) and `rejected` (a signed body refused by validation).
 * The sweeper, the gauges behind the alarms and the operator's CLI read and change them through this
 * interface; the table keeps them in the sparse `byState` index (table-design.ts).
 */
import type { EventKey, StoredEventStatus, StoredRejectedIpn } from './event-store.ts';

export const ATTENTION_STATES = ['pending', 'held', 'rejected'] as const;
export type AttentionState = (typeof ATTENTION_STATES)[number];

/** One item of a state, as the index projects it (no body). */
export interface StateEntry {
  state: AttentionState;
  /** Pending and held items: the stored event's key. Absent on rejected items. */
  key?: EventKey;
  /** Rejected items: the hash of the refused body, their id. */
  bodySha256: string;
  orderRef?: string;
  status: string;
  revision?: number;
  receivedAt: string;
  httpStatus?: number;
  issues?: { path: string; message: string }[];
  sweptAt?: string;
  sweepCount: number;
  /** Rejected items: the payment id the refused body seemed to carry. */
  paymentIdHint?: string;
}

export interface ListStateOptions {
  /** Only items received strictly before this ISO instant. */
  receivedBefore?: string;
  /** Newest first (default oldest first). */
  newestFirst?: boolean;
  /** At most this many (default all). */
  limit?: number;
}

export interface EventStateStore {
  listState(state: AttentionState, options?: ListStateOptions): Promise<StateEntry[]>;
  /** How many items are in a state (received before an instant, when given), without reading them. */
  countState(state: AttentionState, options?: { receivedBefore?: string }): Promise<number>;
  /**
   * Moves a stored event from one status to another if it is still in `from` (release: held →
   * received, discard: held → discarded). Returns false when it was not in `from`.
   */
  transition(
    key: EventKey,
    from: StoredEventStatus,
    to: Exclude<StoredEventStatus, 'published'>,
    at: string,
  ): Promise<boolean>;
  /** Records that the sweeper enqueued a pending item again; false when it is no longer pending. */
  recordSweep(key: EventKey, at: string): Promise<boolean>;
  getRejected(bodySha256: string): Promise<StoredRejectedIpn | undefined>;
  /** Marks a rejected body reprocessed into `as`; false when it was reprocessed already. */
  markReprocessed(bodySha256: string, as: EventKey, at: string): Promise<boolean>;
  /** Replaces the reasons of a rejected body after a reprocess that still refuses it. */
  updateRejectedIssues(
    bodySha256: string,
    issues: { path: string; message: string }[],
    at: string,
  ): Promise<void>;
}
