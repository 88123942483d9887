/**
 * Where a replay records how far it got, so that `--resume` publishes what is left and nothing twice.
 * The record holds the frozen selection and a cursor over the replay's total order (`orderKeyOf`), not
 * the list of events, so it stays small for any selection; the few events that failed are listed so a
 * resume retries them.
 */
import type { EventKey } from '../shared/store/event-store.ts';
import type { ReplaySelection } from './selection.ts';

/** An event that was attempted and not published. */
export interface ReplayFailure extends EventKey {
  orderRef: string;
  /** Its place in the replay's order (`orderKeyOf`). */
  orderKey: string;
  errorCode: string;
  errorMessage: string;
}

export interface ReplayRecord {
  replayId: string;
  /** ISO 8601 UTC; also the `requestedAt` of the replay marker. */
  requestedAt: string;
  selection: ReplaySelection;
  /**
   * Order key of the last event attempted. Every selected event up to it was attempted exactly once:
   * published, or listed in `failures`.
   */
  cursor?: string;
  /** Events published, over every run of this replay. */
  published: number;
  failures: ReplayFailure[];
  /** True when every selected event was attempted; `failures` may still list some. */
  complete: boolean;
  updatedAt: string;
}

/** Who may write a record, until when (epoch ms). A lease keeps two processes off the same replay. */
export interface ReplayLease {
  owner: string;
  expiresAt: number;
}

export interface ReplayProgressStore {
  /** Writes a new replay's record, held by `lease`. */
  create(record: ReplayRecord, lease: ReplayLease): Promise<void>;
  /** Reads a record without taking its lease; undefined when there is none. */
  get(replayId: string): Promise<ReplayRecord | undefined>;
  /**
   * Takes the lease of a record that no one holds (or whose lease expired before `now`).
   * @throws ReplayNotFoundError, ReplayInProgressError
   */
  claim(replayId: string, lease: ReplayLease, now: number): Promise<ReplayRecord>;
  /**
   * Records progress and extends the lease.
   * @throws ReplayLeaseLostError when another process holds the lease now.
   */
  save(record: ReplayRecord, lease: ReplayLease): Promise<void>;
  /** Records progress and gives up the lease. */
  release(record: ReplayRecord, owner: string): Promise<void>;
}
