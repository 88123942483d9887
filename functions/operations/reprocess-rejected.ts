/**
 * Rejected IPNs: signed bodies that failed validation (answered 400/415, which okePay never resends),
 * kept whole. After a fix (a newer currency table, a corrected rule), reprocessing validates the body
 * again with the current code and, if it is valid now, stores, enqueues and publishes it like a live
 * IPN. Its signature was verified when it was received; the stored event records where it came from
 * (`reprocessedFrom`) and keeps that first `receivedAt`.
 */
import { createHash } from 'node:crypto';
import { type IpnOutcome, type StoreIpnDeps, storeVerifiedIpn } from '../ingest/receive-ipn.ts';
import { InvalidPayloadError } from '../shared/ipn/errors.ts';
import { parseIpnBody } from '../shared/ipn/payload.ts';
import type { EventStateStore, StateEntry } from '../shared/store/event-states.ts';
import type { EventKey, StoredRejectedIpn } from '../shared/store/event-store.ts';
import { rejectedKey } from '../shared/store/table-design.ts';
import { NothingMatchesError, WrongStateError } from './errors.ts';

export interface ReprocessDeps extends StoreIpnDeps {
  rejected: Pick<EventStateStore, 'getRejected' | 'markReprocessed' | 'updateRejectedIssues' | 'listState'>;
}

export type ReprocessResult =
  | { bodySha256: string; result: 'stored'; key: EventKey; outcome: IpnOutcome }
  | { bodySha256: string; result: 'still-invalid'; issues: { path: string; message: string }[] };

export function listRejectedIpns(deps: Pick<ReprocessDeps, 'rejected'>): Promise<StateEntry[]> {
  return deps.rejected.listState('rejected', { newestFirst: true });
}

/** A rejected IPN by its body hash, or by a prefix of it (at least 8 characters) that names one. */
export async function findRejected(
  deps: Pick<ReprocessDeps, 'rejected'>,
  id: string,
): Promise<StoredRejectedIpn> {
  const wanted = id.toLowerCase();
  let sha = wanted;
  if (!/^[0-9a-f]{64}$/.test(wanted)) {
    if (!/^[0-9a-f]{8,63}$/.test(wanted)) {
      throw new NothingMatchesError(
        `"${id}" is not a body hash: give the hash \`okepay rejected list\` shows (8 characters or more)`,
      );
    }
    const matches = (await listRejectedIpns(deps)).filter((entry) => entry.bodySha256.startsWith(wanted));
    if (matches.length !== 1) {
      throw new NothingMatchesError(
        matches.length === 0
          ? `No rejected IPN waiting has a body hash starting ${id}; \`okepay rejected list\` shows them`
          : `${matches.length} rejected IPNs have a body hash starting ${id}; give more characters`,
      );
    }
    sha = (matches[0] as StateEntry).bodySha256;
  }
  const rejected = await deps.rejected.getRejected(sha);
  if (!rejected) throw new NothingMatchesError(`No rejected IPN has the body hash ${sha}`);
  return rejected;
}

/** What reprocessing would do, without writing anything: the validation verdict of today's code. */
export function checkRejected(
  rejected: StoredRejectedIpn,
): ReprocessResult | { result: 'valid'; key: EventKey } {
  try {
    const payload = parseIpnBody(rejected.body);
    return { result: 'valid', key: { paymentId: payload.payment_id, event: payload.event } };
  } catch (error) {
    if (error instanceof InvalidPayloadError) {
      return { bodySha256: rejected.bodySha256, result: 'still-invalid', issues: error.issues };
    }
    throw error;
  }
}

export async function reprocessRejected(
  deps: ReprocessDeps,
  rejected: StoredRejectedIpn,
): Promise<ReprocessResult> {
  if (rejected.status !== 'rejected') {
    throw new WrongStateError(
      `The rejected IPN ${rejected.bodySha256} was reprocessed already${
        rejected.reprocessedAs
          ? ` (into ${rejected.reprocessedAs.paymentId} ${rejected.reprocessedAs.event})`
          : ''
      }`,
      rejected.status,
    );
  }
  const at = new Date(deps.now()).toISOString();
  let payload: ReturnType<typeof parseIpnBody>;
  try {
    payload = parseIpnBody(rejected.body);
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    await deps.rejected.updateRejectedIssues(rejected.bodySha256, error.issues, at);
    return { bodySha256: rejected.bodySha256, result: 'still-invalid', issues: error.issues };
  }
  // The retention the stack had when it kept the body (its TTL was set from it), so the stored event
  // expires when the rejected record would have, whatever the caller's defaults.
  const keptDays = Math.round((rejected.expiresAt - Date.parse(rejected.receivedAt) / 1000) / 86_400);
  const settings = keptDays >= 1 ? { ...deps.settings, retentionDays: keptDays } : deps.settings;
  const outcome = await storeVerifiedIpn(
    {
      payload,
      rawBody: rejected.body,
      bodySha256: createHash('sha256').update(rejected.body).digest('hex'),
      signatureTimestamp: rejected.signatureTimestamp,
      receivedAt: rejected.receivedAt,
      reprocessedFrom: rejectedKey(rejected.bodySha256),
    },
    { ...deps, settings },
  );
  const key: EventKey = { paymentId: payload.payment_id, event: payload.event };
  // After the store: if this fails, reprocessing again finds the stored event and is a duplicate.
  await deps.rejected.markReprocessed(rejected.bodySha256, key, at);
  deps.log.info('Reprocessed a rejected IPN', {
    bodySha256: rejected.bodySha256,
    ...key,
    outcome: outcome.status,
  });
  return { bodySha256: rejected.bodySha256, result: 'stored', key, outcome };
}
