import { randomBytes } from 'node:crypto';

/** Replay ids as users type them after `--resume`: letters, digits, `-`, `_`, `.`. */
export const REPLAY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A new replay id: the request time to the second, readable in a list of replays, plus 8 random hex
 * digits so two replays started in the same second differ. E.g. `rp-20260510T124700Z-3fa9c1d2`.
 */
export function newReplayId(requestedAt: Date, random: () => Buffer = () => randomBytes(4)): string {
  const stamp = requestedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `rp-${stamp}-${random().toString('hex')}`;
}
