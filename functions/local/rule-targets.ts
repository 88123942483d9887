/**
 * Delivers matched events to the local target kinds of the rule files: `log` (a line on stdout),
 * `file` (JSON lines appended), `http` (POST of the EventBridge envelope, as an API destination does,
 * retried with backoff). Deliveries run in the background; `drain()` waits for them on shutdown.
 *
 * EventBridge keeps a matched event until its target took it; locally, an http delivery is written to
 * an outbox file before PutEvents answers, and `recover()` redelivers what a crash (kill -9) left
 * undelivered, so an event the consumer marked published still reaches its subscribers.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseLosslessJson, stringify as stringifyLosslessJson } from 'lossless-json';
import type { LocalTarget } from '../shared/rules/rule-file.ts';
import { type EventEnvelope, envelopeJson } from './event-bus-put-events.ts';

/** A line of the outbox: `{"id","rule","target","envelope"}`, the envelope as {@link envelopeJson} writes it. */
interface OutboxEntry {
  id: string;
  rule: string;
  target: LocalTarget;
  /** Read back with lossless-json, so its numbers keep their digits when posted again. */
  envelope: unknown;
}

export interface TargetDeliveryOptions {
  /** Where the http outbox lives (`outbox.jsonl`, `outbox-done.jsonl`); default `baseDir`. */
  outboxDir?: string;
  /** Where `log` lines go; default stdout. */
  print?: (line: string) => void;
  /** Directory relative `file` paths are resolved against. */
  baseDir: string;
  /** Delay before retry n (1-based) of an http delivery. Default 250 ms × 2^(n-1), at most 30 s. */
  retryDelayMs?: (attempt: number) => number;
  /** HTTP attempts before giving up. Default 10 (about 2 minutes of retries). */
  maxHttpAttempts?: number;
  onDeliveryFailure?: (rule: string, target: LocalTarget, error: unknown) => void;
  /** Called when a delivery ends, delivered or given up (`error` set): the local inspector shows it. */
  onDeliveryResult?: (result: DeliveryResult) => void;
}

/** How one delivery of one bus event to one target of a rule ended. */
export interface DeliveryResult {
  /** The envelope's `id`: EventBridge's id of this publish. */
  busEventId: string;
  rule: string;
  target: LocalTarget;
  /** Set when it failed for good (after the retries of an http target). */
  error?: unknown;
}

export class TargetDelivery {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly fileQueues = new Map<string, Promise<void>>();
  private stopping = false;
  private readonly outboxFile: string;
  private readonly outboxDoneFile: string;

  constructor(private readonly options: TargetDeliveryOptions) {
    this.outboxFile = join(options.outboxDir ?? options.baseDir, 'outbox.jsonl');
    this.outboxDoneFile = join(options.outboxDir ?? options.baseDir, 'outbox-done.jsonl');
  }

  /**
   * Delivers a matched event to the rule's targets. Every target gets the envelope as
   * {@link envelopeJson} writes it, so the detail's numbers keep the digits the publisher sent.
   */
  deliver(rule: string, targets: readonly LocalTarget[], envelope: EventEnvelope): void {
    const json = envelopeJson(envelope);
    targets.forEach((target, index) => {
      if (target.type === 'http') {
        const id = `${envelope.id}/${rule}/${index}`;
        // Synchronous on purpose: the entry is on disk before PutEvents answers the consumer. The
        // envelope's exact JSON is spliced in: JSON.stringify of the whole line would reprint its numbers.
        const head = JSON.stringify({ id, rule, target });
        appendFileSync(this.outboxFile, `${head.slice(0, -1)},"envelope":${json}}\n`);
        this.track(
          envelope.id,
          rule,
          target,
          this.post(target.url, json).then(() => this.markDelivered(id)),
        );
      } else {
        this.track(envelope.id, rule, target, this.deliverOne(rule, target, json));
      }
    });
  }

  /**
   * Redelivers the http deliveries a previous run wrote to the outbox but never finished, and compacts
   * the outbox. Returns how many it found.
   */
  recover(): number {
    if (!existsSync(this.outboxFile)) return 0;
    const done = new Set(
      existsSync(this.outboxDoneFile)
        ? readFileSync(this.outboxDoneFile, 'utf8').split('\n').filter(Boolean)
        : [],
    );
    const pending: { line: string; entry: OutboxEntry; body: string }[] = [];
    for (const line of readFileSync(this.outboxFile, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const entry = parseLosslessJson(line) as OutboxEntry;
        const body = stringifyLosslessJson(entry.envelope);
        if (!done.has(entry.id) && body !== undefined) pending.push({ line, entry, body });
      } catch {
        // A line cut short by the crash: its PutEvents never answered, so the consumer retries it.
      }
    }
    // The lines are kept as written, so the envelopes' numbers stay as they were sent.
    writeFileSync(this.outboxFile, pending.map(({ line }) => `${line}\n`).join(''));
    writeFileSync(this.outboxDoneFile, '');
    for (const { entry, body } of pending) {
      const { id, rule, target } = entry;
      if (target.type === 'http') {
        this.track(
          // The outbox id is `<envelope id>/<rule>/<target index>`; envelope ids are UUIDs.
          id.slice(0, id.indexOf('/')),
          rule,
          target,
          this.post(target.url, body).then(() => this.markDelivered(id)),
        );
      }
    }
    return pending.length;
  }

  private markDelivered(id: string): void {
    appendFileSync(this.outboxDoneFile, `${id}\n`);
  }

  private track(busEventId: string, rule: string, target: LocalTarget, work: Promise<void>): void {
    const delivery = work.then(
      () => this.options.onDeliveryResult?.({ busEventId, rule, target }),
      (error: unknown) => {
        this.options.onDeliveryFailure?.(rule, target, error);
        this.options.onDeliveryResult?.({ busEventId, rule, target, error });
      },
    );
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Waits for in-flight deliveries; http retries stop waiting between attempts once draining. */
  async drain(): Promise<void> {
    this.stopping = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliverOne(rule: string, target: LocalTarget, json: string): Promise<void> {
    switch (target.type) {
      case 'log': {
        const print = this.options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
        print(`[rule ${rule}] ${json}`);
        return;
      }
      case 'file':
        return this.appendLine(resolve(this.options.baseDir, target.path), json);
      case 'http':
        return this.post(target.url, json);
    }
  }

  /** Appends are serialised per file so concurrent deliveries never interleave within a line. */
  appendLine(path: string, line: string): Promise<void> {
    const previous = this.fileQueues.get(path) ?? Promise.resolve();
    const next = previous.then(() => appendFile(path, `${line}\n`));
    this.fileQueues.set(
      path,
      next.catch(() => undefined),
    );
    return next;
  }

  /** POSTs `body`, the envelope's JSON text, retrying 429 and 5xx answers. */
  private async post(url: string, body: string): Promise<void> {
    const maxAttempts = this.options.maxHttpAttempts ?? 10;
    const delay =
      this.options.retryDelayMs ?? ((attempt: number) => Math.min(30_000, 250 * 2 ** (attempt - 1)));
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer();
        // As EventBridge API destinations: 2xx is delivered; 429 and 5xx are retried; other 4xx are not.
        if (response.ok) return;
        lastError = new Error(`HTTP ${response.status} from ${url}`);
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        lastError = error;
      }
      if (attempt < maxAttempts && !this.stopping) await new Promise((r) => setTimeout(r, delay(attempt)));
      else if (this.stopping) break;
    }
    throw lastError;
  }
}
