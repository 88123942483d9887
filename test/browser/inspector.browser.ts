/**
 * The inspector page in a real Chromium, against a local pipeline started in this process: IPNs
 * appear live, a timeline opens, a replay shows its delivery, a held revision is released, and markup
 * in a payload or a refused request is shown as text with no script run. Each view is saved as a
 * screenshot under test-output/inspector/ for a person to look at.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../functions/local/pipeline.ts';
import { ipnJson, OTHER_SECRET, RawNumber, sign, TEST_SECRET } from '../helpers/ipn.ts';
import { launchChromium } from './chromium.ts';

const OUTPUT_DIR = join(import.meta.dirname, '../../test-output/inspector');

let pipeline: LocalPipeline;
let dataDir: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  // The output directory ignores itself: nothing in it is ever committed.
  mkdirSync(OUTPUT_DIR, { recursive: true });
  writeFileSync(join(OUTPUT_DIR, '..', '.gitignore'), '*\n');
  dataDir = mkdtempSync(join(tmpdir(), 'okepay-inspector-browser-'));
  pipeline = await startLocalPipeline({
    port: 0,
    inspectorPort: 0,
    dataDir,
    secrets: [TEST_SECRET],
    visibilityTimeoutSeconds: 1,
    sweepIntervalMs: 0,
    print: () => {},
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(pipeline.endpoints.inspectorUrl ?? '');
  await page.waitForSelector('html[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function send(body: string, secret = TEST_SECRET) {
  const response = await fetch(pipeline.endpoints.ipnUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-okepay-signature': sign(body, { secret, timestamp: Math.floor(Date.now() / 1000) }),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

const row = (paymentId: string) => page.locator(`li.row[data-payment-id="${paymentId}"]`);
const screenshot = (name: string, fullPage = false) =>
  page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage });

/** Opens the newest live row of the payment and waits for its detail, timeline included. */
async function open(paymentId: string) {
  await row(paymentId).first().click();
  const id = await row(paymentId).first().getAttribute('data-id');
  await page.waitForSelector(`#detail[data-loaded="ipn:${id}"]`);
}

describe('the inspector in Chromium', () => {
  it('lists IPNs as they arrive, newest first, without a reload', async () => {
    expect(await send(ipnJson({ payment_id: 'pay_b_first', occurred_at: new Date().toISOString() }))).toBe(
      200,
    );
    await row('pay_b_first').waitFor();
    expect(await send(ipnJson({ event: 'payment.pending', payment_id: 'pay_b_second' }))).toBe(200);
    expect(await send(ipnJson({ payment_id: 'pay_b_refused' }), OTHER_SECRET)).toBe(401);
    await row('pay_b_refused').waitFor();

    const order = await page
      .locator('#rows li.row')
      .evaluateAll((items) =>
        items.map((item) => (item as unknown as { dataset: { paymentId: string } }).dataset.paymentId),
      );
    expect(order.slice(0, 3)).toEqual(['pay_b_refused', 'pay_b_second', 'pay_b_first']);
    await expect.poll(() => row('pay_b_first').getAttribute('class')).toContain('on-bus');
    expect(await row('pay_b_refused').textContent()).toContain('No configured secret verifies');
    // The 401 panel, with the doctor's explanation.
    await expect.poll(() => page.locator('#failures li.failure').count()).toBe(1);
    expect(await page.locator('#failures').textContent()).toMatch(/What to do: /);
    await screenshot('live-list');
  });

  it("opens a payment's timeline: request, canonical event, rules matched and deliveries", async () => {
    await open('pay_b_first');
    const detail = page.locator('#detail');
    await detail.locator('li.delivery.delivered').first().waitFor();
    const text = await detail.textContent();
    expect(text).toContain('Request: POST /okepay/ipn');
    await detail.locator('details.request-headers summary').click();
    expect(await detail.locator('details.request-headers').textContent()).toContain('x-okepay-signature');
    expect(text).toContain('succeeded-payments → log: delivered');
    expect(text).toMatch(/published payment\.succeeded as eventId/);
    await detail.locator('summary', { hasText: 'Canonical event, as the bus took it' }).click();
    expect(await detail.locator('details.canonical pre').textContent()).toContain(
      '"paymentId": "pay_b_first"',
    );

    await detail.locator('button[data-action="curl"]').first().click();
    await expect.poll(() => detail.locator('pre.curl').first().textContent()).toMatch(/^curl -sS -X POST /);
    await screenshot('timeline', true);
  });

  it('replays an event and shows the replay on the bus with its delivery', async () => {
    const detail = page.locator('#detail');
    await detail.locator('article.stored-event button[data-action="replay"]').first().click();
    const replayRow = detail.locator('tr[data-replay^="rp-"]');
    await replayRow.waitFor();
    await replayRow.locator('li.delivery.delivered').first().waitFor();
    expect(await replayRow.textContent()).toMatch(/replayed-events → log: delivered/);
    expect(await page.locator('#toast').textContent()).toMatch(
      /^Replay rp-\S+ of pay_b_first payment\.succeeded: 1 published/,
    );
    await screenshot('replayed', true);
  });

  it('releases a held revision (a second refund of the same payment with another amount)', async () => {
    const refund = (amount: string) =>
      ipnJson({ event: 'payment.refunded', payment_id: 'pay_b_refunds', amount: new RawNumber(amount) });
    expect(await send(refund('10.00'))).toBe(200);
    await pipeline.bus.waitForEvent(
      (event) => (event.detail as { paymentId?: string }).paymentId === 'pay_b_refunds',
    );
    expect(await send(refund('25.00'))).toBe(200);
    await page.locator('li.row.verdict-revision-held[data-payment-id="pay_b_refunds"]').waitFor();

    await open('pay_b_refunds');
    const held = page.locator('#detail article.stored-event[data-revision="2"]');
    expect(await held.getAttribute('class')).toContain('status-held');
    await screenshot('held');
    await held.locator('button[data-action="release"]').click();
    await page.locator('#detail article.stored-event.status-published[data-revision="2"]').waitFor();
    await page.locator('#detail tr[data-bus-event-id]', { hasText: 'payment.refunded rev 2' }).waitFor();
    expect(await page.locator('#detail').textContent()).toContain('released by an operator');
    await screenshot('released', true);
    // The view for the README (docs/images/inspector.png is a copy of it): no notice over it.
    await page.locator('#toast.show').waitFor({ state: 'hidden' });
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot('overview');
  });

  it('shows markup from a payload and from a refused request as text, and runs none of it', async () => {
    const markup = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const signed = ipnJson({ payment_id: 'pay_b_markup', order_ref: markup, note: markup });
    expect(await send(signed)).toBe(200);
    const refused = `{"payment_id":"pay_b_markup_401","note":${JSON.stringify(markup)}}<script>window.__pwned=3</script>`;
    expect(await send(refused, OTHER_SECRET)).toBe(401);
    // Not JSON: the row names no payment, only its verdict.
    await expect.poll(() => page.locator('li.row.verdict-unauthorized').count()).toBe(2);

    await open('pay_b_markup');
    const detail = page.locator('#detail');
    await detail.locator('article.stored-event').first().waitFor();
    expect(await detail.locator('pre.body').first().textContent()).toBe(signed);
    expect(await detail.textContent()).toContain('<img src=x onerror="window.__pwned=1">');
    await page.locator('#failures summary').first().click();
    expect(await page.locator('#failures pre.body').first().textContent()).toBe(refused);

    // Nothing of it became markup, loaded, or ran.
    expect(await page.evaluate('document.querySelectorAll("img").length')).toBe(0);
    expect(await page.evaluate('document.querySelectorAll("script").length')).toBe(1);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(requested.filter((url) => new URL(url).pathname === '/x')).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    await screenshot('escaped-markup', true);
  });
});
