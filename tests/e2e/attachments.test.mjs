// @ts-check
// Attachments kept locally, end to end: the real engine downloads a message's files from a fake
// Linq file server on loopback (its --linq-api-base), and Chromium shows the image from the
// engine's own copy under the page's Content-Security-Policy, while a file that could not be
// kept reads as a sentence (never a broken-image icon).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { MARIA, MARIA_HANDLES } from './lib/seed.mjs';
import { png } from './lib/png.mjs';
import { eventually } from './lib/wait.mjs';

const PHOTO = png(160, 96, [40, 120, 220]);

/** Linq's file server on loopback: `/files/photo.png` is there, `expired.png` once `restored`,
 * anything else is 404. */
async function fileServer() {
  /** @type {string[]} */
  const seen = [];
  const state = { restored: false };
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/files/photo.png' || req.url === '/files/live.png' || (state.restored && req.url === '/files/expired.png')) {
      // The server claims a PDF: the engine reads the bytes instead.
      res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': PHOTO.length });
      res.end(PHOTO);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { base: `http://127.0.0.1:${port}`, seen, state, close: () => server.close() };
}

describe('attachments kept locally', () => {
  /** @type {Awaited<ReturnType<typeof fileServer>>} */
  let files;
  /** @type {Awaited<ReturnType<typeof L.startEngine>>} */
  let engine;
  /** @type {Awaited<ReturnType<typeof launch>>} */
  let browser;
  /** @type {import('playwright-core').Page} */
  let page;
  const bubble = (/** @type {string} */ id) => page.locator(`[data-message-id="${id}"]`);

  before(async () => {
    files = await fileServer();
    // Retries 50 ms apart, doubling: a failing file is given up on within about two seconds.
    engine = await L.startEngine({ env: { LINQ_API_BASE: files.base, LINQ_INBOX_TEST_ATTACHMENT_RETRY_MS: '50' } });
    await L.deliverAll(engine.webhookUrl, [
      L.message({ id: 'a-1', chat: 'chat-maria', text: 'The site photo', from: MARIA, handles: MARIA_HANDLES, attachments: [
        { id: 'att-photo', url: `${files.base}/files/photo.png`, filename: 'site-photo.pdf', mime_type: 'application/pdf' },
      ] }),
      L.message({ id: 'a-2', chat: 'chat-maria', text: 'And the floor plan', from: MARIA, handles: MARIA_HANDLES, attachments: [
        { id: 'att-gone', url: `${files.base}/files/expired.png`, filename: 'floor-plan.png', mime_type: 'image/png' },
        { id: 'att-http', url: 'http://files.example.test/plan.png', filename: 'plain-http.png', mime_type: 'image/png' },
      ] }),
    ]);
    browser = await launch();
    page = browser.page;
    await page.goto(engine.loginUrl);
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
  });

  after(async () => {
    await browser?.close();
    await engine?.stop();
    files?.close();
    if (process.exitCode === undefined || process.exitCode === 0) engine?.removeData();
  });

  it('shows the image inline from the engine\'s own copy', async () => {
    await page.evaluate(() => (location.hash = '#/chats/chat-maria'));
    const img = bubble('a-1').locator('[data-testid="attachment-image"]');
    await img.waitFor({ timeout: 15_000 });
    assert.equal(await img.getAttribute('src'), '/api/attachments/att-photo', 'the local copy, not Linq\'s address');
    await eventually(async () => (await img.evaluate((el) => /** @type {HTMLImageElement} */ (el).naturalWidth)) === 160,
      'the page\'s Content-Security-Policy lets the local copy load, and it is the photo');
    assert.equal(await img.getAttribute('alt'), 'Image: The site photo', 'a screen reader hears the caption the image came with');
    assert.equal(files.seen.filter((u) => u === '/files/photo.png').length, 1, 'downloaded once, by the engine');
  });

  it('says why a file could not be kept, with no broken image beside it', async () => {
    const gone = bubble('a-2').locator('[data-attachment-key="att-gone"] [data-testid="attachment-error"]');
    const givenUp = 'Not kept: Linq\'s file server answered HTTP 404 instead of the file. Gave up after 6 tries; the app tries again when it next starts.';
    await eventually(async () => (await gone.count()) === 1 && (await gone.innerText()) === givenUp,
      'the failed download has its sentence once its tries are used up', 10_000);
    const refused = bubble('a-2').locator('[data-attachment-key="att-http"] [data-testid="attachment-error"]');
    await refused.waitFor();
    assert.equal(await refused.innerText(),
      'Not kept: The app does not download from http://files.example.test: only https:// addresses (and Linq\'s API host) are fetched.');
    assert.equal(await bubble('a-2').locator('img').count(), 0, 'no image element for a file that is not here');
    assert.equal(await bubble('a-2').getByRole('button', { name: /Try again/u }).count(), 1,
      'one "Try again": for the file that may come back, never for an address the app will not fetch');
    const broken = await page.locator('img').evaluateAll((els) =>
      els.filter((el) => { const i = /** @type {HTMLImageElement} */ (el); return i.complete && i.naturalWidth === 0; }).map((el) => el.getAttribute('src')));
    assert.deepEqual(broken, [], 'no broken image anywhere in the thread');
    assert.deepEqual(browser.errors.filter((e) => /attachments|Content Security Policy/u.test(e)), [], 'no failed load or CSP violation');
    await shot(page, 'attachments-thread');
  });

  it('"Try again" brings a file back once Linq serves it', async () => {
    files.state.restored = true;
    await bubble('a-2').getByRole('button', { name: 'Try again floor-plan.png' }).click();
    const img = bubble('a-2').locator('[data-attachment-key="att-gone"] [data-testid="attachment-image"]');
    await img.waitFor({ timeout: 15_000 });
    assert.equal(await img.getAttribute('src'), '/api/attachments/att-gone', 'from the local copy');
  });

  it('a file that arrives while the thread is open appears without a reload', async () => {
    await L.deliverAll(engine.webhookUrl, [
      L.message({ id: 'a-3', chat: 'chat-maria', text: 'One more', from: MARIA, handles: MARIA_HANDLES, attachments: [
        { id: 'att-live', url: `${files.base}/files/live.png`, filename: 'live.png', mime_type: 'image/png' },
      ] }),
    ]);
    const img = bubble('a-3').locator('[data-testid="attachment-image"]');
    await img.waitFor({ timeout: 15_000 });
    assert.equal(await img.getAttribute('src'), '/api/attachments/att-live', 'shown from the local copy as soon as it is kept');
  });

  it('Settings shows the limits and how the folder stands', async () => {
    await page.evaluate(() => (location.hash = '#/settings'));
    const card = page.locator('[data-testid="attachments-settings"]');
    await card.waitFor();
    assert.match(await card.innerText(), /up to 100 MB a file and 5 GB in all/u, 'the default limits');
    await eventually(async () => /3 kept/u.test(await page.locator('[data-testid="attachments-usage"]').innerText()),
      'the kept files are counted');
  });
});
