/**
 * What `revisions`, `rejected` and `stuck` share: the store and queue of the target, a confirmation
 * before anything is published or changed, and the table of state entries.
 */
import { formatTable, type Terminal } from '../../functions/replay/terminal.ts';
import { SqsIpnQueue } from '../../functions/shared/queue/sqs-ipn-queue.ts';
import { DynamoDbEventStore } from '../../functions/shared/store/dynamodb-event-store.ts';
import type { StateEntry } from '../../functions/shared/store/event-states.ts';
import { UsageError } from './command.ts';
import type { Target } from './targets.ts';

export function operationsOf(target: Target) {
  const store = new DynamoDbEventStore(target.dynamoDb, target.tableName);
  return { store, queue: new SqsIpnQueue(target.sqs, target.queueUrl), now: Date.now };
}

/** Asks before acting unless `--yes`; outside a terminal, `--yes` is required. */
export async function confirm(terminal: Terminal, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!terminal.interactive) {
    throw new UsageError(`${question.replace(/\?$/, '')}: pass --yes to confirm when not at a terminal`);
  }
  const answer = await terminal.ask(`${question} Type "yes" to go on: `);
  return answer.trim().toLowerCase() === 'yes';
}

export const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
export const noMetrics = { addMetric: () => undefined };

export function shortHash(hash: string | undefined): string {
  return hash ? hash.slice(0, 12) : '-';
}

export function entryTable(entries: readonly StateEntry[]): string {
  return formatTable(
    ['RECEIVED AT', 'PAYMENT', 'EVENT', 'REV', 'ORDER REF', 'BODY SHA-256'],
    entries.map((entry) => [
      entry.receivedAt,
      entry.key?.paymentId ?? '-',
      entry.key?.event ?? '-',
      String(entry.revision ?? '-'),
      entry.orderRef ?? '-',
      shortHash(entry.bodySha256),
    ]),
  );
}
