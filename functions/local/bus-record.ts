/**
 * The local bus's record of one payment: the lines of `bus.jsonl` (every event the local bus accepted)
 * that carry it, with the rules that matched each (`matches.jsonl`). What EventBridge cannot tell on a
 * stack, the local pipeline can.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusRecordEntry } from '../operations/payment-timeline.ts';

const BUS_LOG_FILE = 'bus.jsonl';
const MATCH_LOG_FILE = 'matches.jsonl';

function lines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        // A line cut short by a kill -9 is skipped; the rest of the record stays readable.
        return [];
      }
    });
}

interface EnvelopeLine {
  id?: string;
  time?: string;
  'detail-type'?: string;
  detail?: { paymentId?: string; eventId?: string; revision?: number; replay?: { replayId?: string } };
}

/** Reads `<dataDir>/bus.jsonl` and `matches.jsonl` for the events of one payment, oldest first. */
export function readLocalBusRecord(dataDir: string, paymentId: string): BusRecordEntry[] {
  const rulesById = new Map<string, string[]>();
  const arrivedAt = new Map<string, string>();
  for (const line of lines(join(dataDir, MATCH_LOG_FILE)) as { id?: string; rule?: string; at?: string }[]) {
    if (!line.id) continue;
    if (line.at && !arrivedAt.has(line.id)) arrivedAt.set(line.id, line.at);
    if (line.rule) rulesById.set(line.id, [...(rulesById.get(line.id) ?? []), line.rule]);
  }
  const entries: BusRecordEntry[] = [];
  for (const line of lines(join(dataDir, BUS_LOG_FILE)) as EnvelopeLine[]) {
    const detail = line.detail;
    if (!line.id || detail?.paymentId !== paymentId || !detail.eventId) continue;
    entries.push({
      id: line.id,
      // The envelope's `time` is okePay's occurred_at; the arrival is recorded beside it.
      at: arrivedAt.get(line.id) ?? line.time ?? new Date(0).toISOString(),
      eventId: detail.eventId,
      event: line['detail-type'] ?? '',
      ...(detail.revision ? { revision: detail.revision } : {}),
      ...(detail.replay?.replayId ? { replayId: detail.replay.replayId } : {}),
      rules: rulesById.get(line.id) ?? [],
    });
  }
  return entries;
}
