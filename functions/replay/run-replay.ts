/**
 * The replay use case, shared by the CLI and the replay Lambda: select stored events, publish each
 * one's canonical event (the live one plus the `replay` marker) in PutEvents batches at a set rate,
 * and record progress so that a stopped replay resumes where it stopped.
 *
 * Exactly once: events are attempted in a fixed total order (`orderKeyOf`), a batch at a time.
 * Batches start in that order and a stop waits for those in flight, so the attempted events are
 * always a prefix of the order; the record's cursor is the end of that prefix, and the events in it
 * that failed are listed and retried first on resume. Only a crash (kill -9, a Lambda timeout) between
 * a publish and the next checkpoint repeats events: at most a checkpoint interval's worth, with the
 * same `detail.eventId`, so subscribers that dedupe on it see nothing twice.
 */
import { randomUUID } from 'node:crypto';
import type { BusEntry, BusEntryResult, EventBus } from '../shared/bus/event-bus.ts';
import { publishEntries } from '../shared/bus/publish-entries.ts';
import { type RawOnBus, type ReplayMarker, toCanonicalEvent } from '../shared/canonical/normalise.ts';
import { type OrderingFact, orderingOf } from '../shared/canonical/ordering.ts';
import type { MetricSink } from '../shared/observability.ts';
import { type EventStore, eventKeyId, type StoredEvent } from '../shared/store/event-store.ts';
import { ReplayNotFoundError } from './errors.ts';
import { selectCandidates } from './plan.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { newReplayId } from './replay-id.ts';
import type {
  ReplayFailure,
  ReplayLease,
  ReplayProgressStore,
  ReplayRecord,
} from './replay-progress-store.ts';
import {
  JSON_FIELD_NAMES,
  normaliseSelection,
  type ReplaySelection,
  type SelectionFieldNames,
} from './selection.ts';
import { orderKeyOf, type ReplayCandidate, type StoredEventQuery } from './stored-event-query.ts';

export interface ReplayDeps {
  query: StoredEventQuery;
  /** With `orderingFacts`, replayed events carry ordering signals computed from what is stored now. */
  store: Pick<EventStore, 'getMany'> & Partial<Pick<EventStore, 'orderingFacts'>>;
  progress: ReplayProgressStore;
  bus: EventBus;
  eventSource: string;
  /** What `detail.raw` carries, as for live events (stack setting rawOnBus); default everything. */
  rawOnBus?: RawOnBus;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  metrics?: MetricSink;
}

/** A new replay of a selection (checked by `normaliseSelection`), or the rest of a recorded one. */
export type ReplayRequest = { selection: unknown; names?: SelectionFieldNames } | { resume: string };

export interface ReplayRunOptions {
  /** PutEvents entries per second, retries included; 0 = no limit. */
  rate: number;
  /** Aborting stops the replay after the batches in flight. */
  signal?: AbortSignal;
  /** Epoch ms after which no batch starts (the Lambda's time budget). */
  stopAt?: number;
  /** Epoch ms after which no PutEvents retry starts. */
  publishDeadline?: number;
  /** Batches in flight at once. Default 8. */
  concurrency?: number;
  /** Called once the selection is known, before anything is published. */
  onStart?: (start: ReplayStart) => void;
  /** Called after each batch. */
  onProgress?: (progress: ReplayProgress) => void;
  leaseMs?: number;
  checkpointEveryMs?: number;
}

export interface ReplayStart {
  replayId: string;
  requestedAt: string;
  selection: ReplaySelection;
  resumed: boolean;
  /** Events the selection holds, plus earlier failures it no longer matches. */
  selected: number;
  /** Attempted by earlier runs of this replay (resume). */
  alreadyDone: number;
  /** To attempt in this run: earlier failures first, then what follows the cursor. */
  toDo: number;
}

export interface ReplayProgress {
  replayId: string;
  toDo: number;
  attempted: number;
  published: number;
  failed: number;
  startedAt: number;
  now: number;
}

export type StopReason = 'interrupted' | 'time-budget' | 'too-many-failures';

export interface ReplayOutcome extends ReplayStart {
  /** Attempted in this run. */
  attempted: number;
  /** Published in this run. */
  published: number;
  /** Published over every run. */
  publishedTotal: number;
  /** Attempted and not published, over every run; a resume retries them. */
  failures: ReplayFailure[];
  /** Every selected event was attempted (failures aside). */
  complete: boolean;
  stopped?: StopReason;
  /** False when nothing was selected: no progress record was written. */
  recorded: boolean;
  elapsedMs: number;
}

export interface DryRunOutcome {
  replayId?: string;
  selection: ReplaySelection;
  selected: number;
  alreadyDone: number;
  /** What a run would attempt, in order. */
  events: ReplayCandidate[];
}

/** PutEvents takes at most 10 entries: one batch is one request (unless the entries are large). */
export const BATCH_SIZE = 10;
/** Bodies are read with one BatchGetItem (at most 100 keys) per page. */
const PAGE_SIZE = 100;
const DEFAULT_CONCURRENCY = 8;
/** Long enough to outlast any pause between checkpoints, short enough to resume soon after a crash. */
const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_CHECKPOINT_EVERY_MS = 1_000;
/** How long one batch's failed entries are retried before they are recorded as failures. */
const BATCH_RETRY_MS = 30_000;
/**
 * Past this many failures in one run the bus (or the data) is failing systematically: stop, keep the
 * record small, and let a resume retry them once the cause is fixed.
 */
export const MAX_RECORDED_FAILURES = 100;

interface WorkItem extends ReplayCandidate {
  orderKey: string;
}

function workOf(candidate: ReplayCandidate): WorkItem {
  return { ...candidate, orderKey: orderKeyOf(candidate) };
}

/**
 * What a run of the record attempts: its failures first (they are before the cursor, in order), then
 * every selected event after the cursor.
 */
function planWork(record: ReplayRecord, candidates: readonly ReplayCandidate[]) {
  const byOrderKey = new Map(candidates.map((candidate) => [orderKeyOf(candidate), candidate]));
  const retries: WorkItem[] = record.failures.map((failure) => {
    const candidate = byOrderKey.get(failure.orderKey);
    return candidate
      ? workOf(candidate)
      : {
          paymentId: failure.paymentId,
          event: failure.event,
          ...(failure.revisionHash ? { revisionHash: failure.revisionHash } : {}),
          orderRef: failure.orderRef,
          status: 'unknown',
          receivedAt: failure.orderKey.slice(0, failure.orderKey.indexOf('#')),
          orderKey: failure.orderKey,
        };
  });
  const failedKeys = new Set(record.failures.map((failure) => failure.orderKey));
  const cursor = record.cursor;
  const after = candidates.map(workOf).filter((item) => cursor === undefined || item.orderKey > cursor);
  const selected = candidates.length + record.failures.filter((f) => !byOrderKey.has(f.orderKey)).length;
  const work = [...retries, ...after.filter((item) => !failedKeys.has(item.orderKey))];
  return { work, selected, alreadyDone: selected - work.length };
}

/** The record of a new replay (not yet written), or the recorded one to resume. */
async function openRecord(
  request: ReplayRequest,
  deps: ReplayDeps,
  take: (replayId: string) => Promise<ReplayRecord | undefined>,
): Promise<{ record: ReplayRecord; resumed: boolean }> {
  if ('resume' in request) {
    const record = await take(request.resume);
    if (!record) throw new ReplayNotFoundError(request.resume);
    return { record, resumed: true };
  }
  const requestedAt = new Date(deps.now());
  const selection = normaliseSelection(request.selection, requestedAt, request.names ?? JSON_FIELD_NAMES);
  const record: ReplayRecord = {
    replayId: newReplayId(requestedAt),
    requestedAt: requestedAt.toISOString(),
    selection,
    published: 0,
    failures: [],
    complete: false,
    updatedAt: requestedAt.toISOString(),
  };
  return { record, resumed: false };
}

async function selectWork(record: ReplayRecord, deps: ReplayDeps) {
  return planWork(record, await selectCandidates(record.selection, (query) => deps.query.run(query)));
}

/** Lists what a replay would publish, and publishes nothing; for a resume, what is left. */
export async function dryRunReplay(request: ReplayRequest, deps: ReplayDeps): Promise<DryRunOutcome> {
  const { record, resumed } = await openRecord(request, deps, (replayId) => deps.progress.get(replayId));
  const { work, selected, alreadyDone } = await selectWork(record, deps);
  return {
    ...(resumed ? { replayId: record.replayId } : {}),
    selection: record.selection,
    selected,
    alreadyDone,
    events: work.map(({ orderKey: _orderKey, ...candidate }) => candidate),
  };
}

interface Batch {
  items: WorkItem[];
  settled: boolean;
  published: number;
  failures: ReplayFailure[];
}

const failureOf = (item: WorkItem, errorCode: string, errorMessage: string): ReplayFailure => ({
  paymentId: item.paymentId,
  event: item.event,
  ...(item.revisionHash ? { revisionHash: item.revisionHash } : {}),
  orderRef: item.orderRef,
  orderKey: item.orderKey,
  errorCode,
  errorMessage,
});

/**
 * Publishes a selection (or the rest of a recorded replay). Returns when every selected event was
 * attempted, or when it stopped (signal, time budget, too many failures); throws what it cannot
 * handle (the store failing, the lease lost) after recording the progress it made.
 */
export async function runReplay(
  request: ReplayRequest,
  deps: ReplayDeps,
  options: ReplayRunOptions,
): Promise<ReplayOutcome> {
  const startedAt = deps.now();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const lease: ReplayLease = { owner: randomUUID(), expiresAt: startedAt + leaseMs };
  const { record, resumed } = await openRecord(request, deps, (replayId) =>
    deps.progress.claim(replayId, lease, deps.now()),
  );
  let planned: Awaited<ReturnType<typeof selectWork>>;
  try {
    planned = await selectWork(record, deps);
  } catch (error) {
    // Give the lease back so the user can resume at once; if that fails too, the lease simply
    // expires, and the selection error is the one worth reporting.
    if (resumed) await deps.progress.release(record, lease.owner).catch(() => undefined);
    throw error;
  }
  const { work, selected, alreadyDone } = planned;
  const start: ReplayStart = {
    replayId: record.replayId,
    requestedAt: record.requestedAt,
    selection: record.selection,
    resumed,
    selected,
    alreadyDone,
    toDo: work.length,
  };
  options.onStart?.(start);

  const outcome = (extra: Partial<ReplayOutcome>): ReplayOutcome => ({
    ...start,
    attempted: 0,
    published: 0,
    publishedTotal: record.published,
    failures: record.failures,
    complete: record.complete,
    recorded: true,
    elapsedMs: deps.now() - startedAt,
    ...extra,
  });

  if (!resumed && selected === 0) return outcome({ complete: true, recorded: false });
  if (!resumed) await deps.progress.create(record, lease);

  const replay: ReplayMarker = {
    replayId: record.replayId,
    requestedAt: record.requestedAt,
    ...(record.selection.subscriber ? { subscriber: record.selection.subscriber } : {}),
  };
  const limiter = createRateLimiter({ perSecond: options.rate, now: deps.now, sleep: deps.sleep });
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const checkpointEveryMs = options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;

  record.complete = false;

  const batches: Batch[] = [];
  const running = new Set<Promise<void>>();
  let attempted = 0;
  let published = 0;
  let failedThisRun = 0;
  let lastCheckpoint = deps.now();
  let stopped: StopReason | undefined;
  /** The first error that ends the run; the batches in flight still finish and are recorded. */
  let failure: unknown;

  /** Moves the settled prefix of the batches into the record. */
  const applySettled = () => {
    while (batches[0]?.settled) {
      const batch = batches.shift() as Batch;
      record.published += batch.published;
      // A retried failure leaves the list once its batch is done, and is back if it failed again.
      const attemptedKeys = new Set(batch.items.map((item) => item.orderKey));
      record.failures = record.failures.filter((failure) => !attemptedKeys.has(failure.orderKey));
      record.failures.push(...batch.failures);
      const last = batch.items.at(-1)?.orderKey;
      if (last !== undefined && (record.cursor === undefined || last > record.cursor)) record.cursor = last;
    }
  };

  const checkpoint = async (final: boolean) => {
    applySettled();
    record.updatedAt = new Date(deps.now()).toISOString();
    lease.expiresAt = deps.now() + leaseMs;
    if (final) await deps.progress.release(record, lease.owner);
    else await deps.progress.save(record, lease);
    lastCheckpoint = deps.now();
  };

  const publishBatch = async (batch: Batch, entries: BusEntry[], itemsOfEntries: WorkItem[]) => {
    let prepaid = entries.length;
    let results: BusEntryResult[];
    try {
      results = await publishEntries(entries, {
        bus: deps.bus,
        deadline: Math.min(deps.now() + BATCH_RETRY_MS, options.publishDeadline ?? Number.POSITIVE_INFINITY),
        now: deps.now,
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
        ...(deps.random ? { random: deps.random } : {}),
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        // The batch's first attempt was paced before it started; retries are paced here.
        beforeRequest: async (count) => {
          const covered = Math.min(prepaid, count);
          prepaid -= covered;
          if (count > covered) await limiter.acquire(count - covered);
        },
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results = entries.map(() => ({ ok: false, errorCode: 'PublishError', errorMessage: message }));
    }
    results.forEach((result, index) => {
      const item = itemsOfEntries[index] as WorkItem;
      if (result.ok) batch.published += 1;
      else batch.failures.push(failureOf(item, result.errorCode, result.errorMessage));
    });
    batch.settled = true;
    attempted += batch.items.length;
    published += batch.published;
    failedThisRun += batch.failures.length;
    options.onProgress?.({
      replayId: record.replayId,
      toDo: work.length,
      attempted,
      published,
      failed: failedThisRun,
      startedAt,
      now: deps.now(),
    });
  };

  const stopReason = (): StopReason | undefined => {
    if (options.signal?.aborted) return 'interrupted';
    if (options.stopAt !== undefined && deps.now() >= options.stopAt) return 'time-budget';
    // Counted per run: a resume that retries many earlier failures must get the chance to.
    if (failedThisRun > MAX_RECORDED_FAILURES) return 'too-many-failures';
    return undefined;
  };

  /** A batch's entries, and failures for the events that cannot become one. */
  const buildBatch = (
    items: WorkItem[],
    storedById: Map<string, StoredEvent>,
    facts: Map<string, OrderingFact[]> | undefined,
  ) => {
    const batch: Batch = { items, settled: false, published: 0, failures: [] };
    const entries: BusEntry[] = [];
    const itemsOfEntries: WorkItem[] = [];
    for (const item of items) {
      const event = storedById.get(eventKeyId(item));
      if (!event) {
        batch.failures.push(
          failureOf(item, 'StoredEventMissing', 'The stored event is gone (expired by TTL, or deleted)'),
        );
        continue;
      }
      try {
        const ordering = facts ? orderingOf(event, facts.get(event.paymentId) ?? []) : undefined;
        entries.push(
          toCanonicalEvent(event, {
            source: deps.eventSource,
            replay,
            ...(ordering ? { ordering } : {}),
            ...(deps.rawOnBus ? { rawOnBus: deps.rawOnBus } : {}),
          }).entry,
        );
        itemsOfEntries.push(item);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        batch.failures.push(failureOf(item, 'InvalidStoredEvent', message));
      }
    }
    return { batch, entries, itemsOfEntries };
  };

  /** Starts the batches in order, a page of bodies read ahead; returns why it stopped early, if it did. */
  const launchAll = async (): Promise<StopReason | undefined> => {
    const pages: WorkItem[][] = [];
    for (let index = 0; index < work.length; index += PAGE_SIZE)
      pages.push(work.slice(index, index + PAGE_SIZE));
    // The bodies, and the ordering facts of their payments (one Query per payment), a page ahead.
    const read = async (items: WorkItem[]) => {
      const orderingFacts = deps.store.orderingFacts?.bind(deps.store);
      const [events, facts] = await Promise.all([
        deps.store.getMany(items),
        orderingFacts ? orderingFacts(items.map((item) => item.paymentId)) : Promise.resolve(undefined),
      ]);
      return { events, facts };
    };
    let prefetch = pages[0] ? read(pages[0]) : undefined;
    for (const [pageIndex, page] of pages.entries()) {
      const { events: stored, facts } = await (prefetch ?? Promise.resolve({ events: [], facts: undefined }));
      const nextPage = pages[pageIndex + 1];
      prefetch = nextPage ? read(nextPage) : undefined;
      // Awaited on the next page; if the run stops first, its failure must not go unhandled.
      prefetch?.catch(() => undefined);
      const storedById = new Map(stored.map((event) => [eventKeyId(event), event]));

      for (let index = 0; index < page.length; index += BATCH_SIZE) {
        while (running.size >= concurrency) await Promise.race(running);
        if (deps.now() - lastCheckpoint >= checkpointEveryMs) await checkpoint(false);
        const { batch, entries, itemsOfEntries } = buildBatch(
          page.slice(index, index + BATCH_SIZE),
          storedById,
          facts,
        );
        await limiter.acquire(entries.length);
        if (failure !== undefined) return undefined;
        const reason = stopReason();
        if (reason) return reason;
        batches.push(batch);
        const task = publishBatch(batch, entries, itemsOfEntries)
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => running.delete(task));
        running.add(task);
      }
    }
    return undefined;
  };

  try {
    stopped = await launchAll();
  } catch (error) {
    failure ??= error;
  }
  // Whatever happened, the batches in flight finish and their progress is recorded.
  await Promise.all(running);
  try {
    record.complete = failure === undefined && stopped === undefined;
    await checkpoint(true);
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;

  return outcome({
    attempted,
    published,
    publishedTotal: record.published,
    failures: record.failures,
    complete: record.complete,
    ...(stopped ? { stopped } : {}),
  });
}
