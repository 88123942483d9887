/**
 * The local inspector page (issue 11), in Chromium, against `okepay serve` as a user starts it:
 *
 * - load, cold: a fresh `okepay serve` (empty data directory, its first run), a fresh browser context
 *   (no cache), then the first request for the page to DOMContentLoaded, to load, and to the list on
 *   screen (the live stream's first snapshot rendered). Then a reload in the same context.
 * - send → row: IPNs sent one at a time while the page is open; for each, from the moment its POST is
 *   answered (and from the moment it was sent) to the moment its row is in the page's DOM, seen by a
 *   MutationObserver in the page. Both clocks are the machine's wall clock at sub-millisecond resolution
 *   (`performance.timeOrigin + performance.now()` in Node and in the page).
 *
 * Floor: a one-line page from a bare node server, loaded the same way: what Chromium itself costs here.
 *
 * Targets (reported, never asserted): load event < 500 ms cold, row < 100 ms after the answer (median).
 * The browser's own start is not counted: a developer's browser is already running.
 *
 *   npx tsx bench/inspector.ts [--runs 5] [--events 50]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import type { LocalEndpoints } from '../functions/local/pipeline.ts';
import { CHROMIUM_PATH, launchChromium } from '../test/browser/chromium.ts';
import { BENCH_SECRET, benchIpnBody, signedHeaders } from './lib/bench-ipn.ts';
import { type ChildServer, startChildServer } from './lib/child-server.ts';
import { runMain } from './lib/main.ts';
import { formatNumber, median, percentile, printTable } from './lib/table.ts';
import { recordTargets, verdict } from './lib/targets.ts';

const ROOT = join(import.meta.dirname, '..');
const LOAD_TARGET_MS = 500;
const ROW_TARGET_MS = 100;

interface Serve extends ChildServer {
  ipnUrl: string;
  close(): Promise<void>;
}

/** `okepay serve` on free ports with an empty data directory: its first run. */
async function startServe(): Promise<Serve> {
  const dataDir = mkdtempSync(join(tmpdir(), 'okepay-bench-inspector-'));
  const server = await startChildServer({
    args: ['bin/okepay.js', 'serve', '--port', '0', '--inspector-port', '0', '--data-dir', dataDir],
    cwd: ROOT,
    env: {
      ...process.env,
      OKEPAY_WEBHOOK_SECRETS: BENCH_SECRET,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    readyPattern: /inspector\s+(http\S+)/,
    timeoutMs: 60_000,
  });
  const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as LocalEndpoints;
  return {
    ...server,
    ipnUrl: endpoints.ipnUrl,
    close: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface LoadTiming {
  /** Navigation start to the first byte of the page, DOMContentLoaded, load, the list on screen (ms). */
  firstByte: number;
  domContentLoaded: number;
  load: number;
  listShown: number;
  /** Bytes of the page and everything it loaded. */
  bytes: number;
}

/** Read in the page: the navigation's timing and the page's own mark (see inspector.js). */
const TIMING_SCRIPT = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('inspector-ready')[0];
  const resources = performance.getEntriesByType('resource');
  return {
    firstByte: nav.responseStart,
    domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    listShown: ready ? ready.startTime : NaN,
    bytes: nav.transferSize + resources.reduce((sum, entry) => sum + entry.transferSize, 0),
  };
})()`;

async function loadPage(page: Page, url: string, reload: boolean, ready = true): Promise<LoadTiming> {
  if (reload) await page.reload({ waitUntil: 'load' });
  else await page.goto(url, { waitUntil: 'load' });
  if (ready) await page.waitForSelector('html[data-ready="true"]');
  return (await page.evaluate(TIMING_SCRIPT)) as LoadTiming;
}

/** The floor: the least a page can be, from the least a server can do. */
async function floorLoads(browser: Browser, runs: number): Promise<LoadTiming[]> {
  const server = createServer((_request, response) =>
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>floor</title><p>floor</p>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const timings: LoadTiming[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        timings.push(await loadPage(await context.newPage(), url, false, false));
      } finally {
        await context.close();
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return timings;
}

/** Records, in the page, when each row (by payment id) entered the list. */
const OBSERVER_SCRIPT = `(() => {
  window.__shown = {};
  new MutationObserver((mutations) => {
    const at = performance.timeOrigin + performance.now();
    for (const mutation of mutations)
      for (const node of mutation.addedNodes)
        if (node.dataset && node.dataset.paymentId && !(node.dataset.paymentId in window.__shown))
          window.__shown[node.dataset.paymentId] = at;
  }).observe(document.getElementById('rows'), { childList: true });
})()`;

const wallClock = () => performance.timeOrigin + performance.now();

async function sendToRow(page: Page, ipnUrl: string, events: number) {
  await page.evaluate(OBSERVER_SCRIPT);
  const afterAnswer: number[] = [];
  const afterSend: number[] = [];
  for (let index = 0; index < events; index++) {
    const paymentId = `pay_bench_row_${index}`;
    const body = benchIpnBody(paymentId);
    const sentAt = wallClock();
    const response = await fetch(ipnUrl, { method: 'POST', headers: signedHeaders(body), body });
    await response.arrayBuffer();
    const answeredAt = wallClock();
    if (response.status !== 200) throw new Error(`the pipeline answered ${response.status}`);
    const key = JSON.stringify(paymentId);
    // Polled from here: waitForFunction evaluates a string in the page, which its policy forbids. The
    // time is the page's own, taken when the row was added, so the polling does not enter it.
    let shownAt: number | undefined;
    for (let polls = 0; shownAt === undefined; polls++) {
      if (polls > 2_000) throw new Error(`the row of ${paymentId} never appeared`);
      shownAt = (await page.evaluate(`window.__shown[${key}]`)) as number | undefined;
      if (shownAt === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    afterAnswer.push(shownAt - answeredAt);
    afterSend.push(shownAt - sentAt);
    // Paced like a person's tests, not a load test: the next one after the page settled.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { afterAnswer, afterSend };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, events: { type: 'string', default: '50' } },
  });
  const runs = Number(values.runs);
  const events = Number(values.events);
  if (!existsSync(CHROMIUM_PATH)) {
    console.log(`### Inspector\n\nNot measured: ${CHROMIUM_PATH} is missing (apt-get install chromium).\n`);
    recordTargets([
      { benchmark: 'inspector', target: `load < ${LOAD_TARGET_MS} ms cold`, measured: 'n/a', met: undefined },
      {
        benchmark: 'inspector',
        target: `row < ${ROW_TARGET_MS} ms after the answer`,
        measured: 'n/a',
        met: undefined,
      },
    ]);
    return;
  }

  const browser: Browser = await launchChromium();
  const cold: LoadTiming[] = [];
  const warm: LoadTiming[] = [];
  let floor: LoadTiming[] = [];
  let rows: { afterAnswer: number[]; afterSend: number[] } | undefined;
  try {
    floor = await floorLoads(browser, runs);
    for (let run = 0; run < runs; run++) {
      const serve = await startServe();
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        const page = await context.newPage();
        cold.push(await loadPage(page, serve.url, false));
        warm.push(await loadPage(page, serve.url, true));
        if (run === runs - 1) rows = await sendToRow(page, serve.ipnUrl, events);
      } finally {
        await context.close();
        await serve.close();
      }
    }
  } finally {
    await browser.close();
  }

  const ms = (value: number) => `${formatNumber(value, 1)} ms`;
  const loadRow = (name: string, timings: LoadTiming[]) => [
    name,
    ms(median(timings.map((t) => t.firstByte))),
    ms(median(timings.map((t) => t.domContentLoaded))),
    ms(median(timings.map((t) => t.load))),
    timings.every((t) => Number.isNaN(t.listShown)) ? '–' : ms(median(timings.map((t) => t.listShown))),
    ms(Math.max(...timings.map((t) => t.load))),
    `${formatNumber(median(timings.map((t) => t.bytes)) / 1024, 1)} KB`,
  ];
  printTable(
    `Inspector: page load in Chromium, median of ${runs} fresh \`okepay serve\` runs`,
    ['load', 'first byte', 'DOMContentLoaded', 'load event', 'list on screen', 'slowest load', 'transferred'],
    [
      loadRow('cold (first request after start, new context)', cold),
      loadRow('reload (same context)', warm),
      loadRow('floor: a one-line page from a bare node server, new context', floor),
    ],
    [
      'From the navigation start (the first request for the page). "list on screen": the live stream\'s first',
      'snapshot rendered. The browser was started before the pipeline; its start is not counted.',
    ],
  );
  const afterAnswer = rows?.afterAnswer ?? [];
  const afterSend = rows?.afterSend ?? [];
  const latencyRow = (name: string, values: number[]) => [
    name,
    ms(median(values)),
    ms(percentile(values, 95)),
    ms(Math.max(...values)),
  ];
  printTable(
    `Inspector: IPN sent → its row in the page, ${events} IPNs one at a time`,
    ['from', 'median', 'p95', 'slowest'],
    [latencyRow('POST answered', afterAnswer), latencyRow('POST sent', afterSend)],
    [
      'The row is written to the event stream right after the answer; a negative figure means the page had',
      'the row before this process had read the answer.',
    ],
  );
  const coldLoad = median(cold.map((t) => t.load));
  const rowLatency = median(afterAnswer);
  recordTargets([
    {
      benchmark: 'inspector',
      target: `load < ${LOAD_TARGET_MS} ms cold`,
      measured: ms(coldLoad),
      met: coldLoad < LOAD_TARGET_MS,
    },
    {
      benchmark: 'inspector',
      target: `row < ${ROW_TARGET_MS} ms after the answer`,
      measured: ms(rowLatency),
      met: rowLatency < ROW_TARGET_MS,
    },
  ]);
  console.log(
    `Targets: cold load ${verdict(coldLoad < LOAD_TARGET_MS)}, row after answer ${verdict(rowLatency < ROW_TARGET_MS)}.`,
  );
}

runMain(import.meta.url, main);
