// @ts-check
// Connect through Linq's v3 API in the browser, against the real engine and a local fake of
// Linq's v3 subscriptions: the API version shown, a line chosen, Linq's signing secret never on
// screen; then the self-test finds the path broken (Setup's banner says where and what to do)
// and clears the banner when it works again.
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';

const LINQ_TOKEN = 'lq_e2e_token_0123456789';
const SUBS = '/api/partner/v3/webhook-subscriptions';
const LINES = ['+15550100001', '+15550100002'];
const SIGNING_SECRET = 'whsec_ZTJlLXYzLXNpZ25pbmcta2V5LTAxMjM0NTY3ODk=';

/** A fake of Linq's v3 subscriptions and lines: records each request. */
async function fakeLinqV3() {
  /** @type {{method: string, path: string, auth: string | undefined, body: any}[]} */
  const seen = [];
  /** @type {any[]} */
  const subs = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      const path = req.url ?? '';
      seen.push({ method: req.method ?? '', path, auth: req.headers.authorization, body });
      const send = (/** @type {number} */ status, /** @type {any} */ answer) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      };
      if (req.headers.authorization !== `Bearer ${LINQ_TOKEN}`) return send(401, { success: false, error: { status: 401, code: 2004, message: 'Unauthorized' } });
      if (path === '/api/partner/v3/phone_numbers') {
        return send(200, { phone_numbers: LINES.map((n, i) => ({ id: `line-${i}`, phone_number: n, reputation: { status: 'HEALTHY', doc_url: 'x' }, forwarding_number: null })) });
      }
      if (path === SUBS && req.method === 'GET') return send(200, { subscriptions: subs });
      if (path === SUBS && req.method === 'POST') {
        const sub = { id: 'b1e2c3d4-0000-4000-8000-000000000001', target_url: body.target_url, subscribed_events: body.subscribed_events, is_active: true, phone_numbers: body.phone_numbers ?? null, created_at: '2026-12-04T00:00:00Z', updated_at: '2026-12-04T00:00:00Z' };
        subs.push(sub);
        return send(201, { ...sub, signing_secret: SIGNING_SECRET });
      }
      return send(404, { success: false, error: { status: 404, code: 2001, message: 'not found' } });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { base: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
}

/** Rewrites `public_url = ...` in the data folder's config.toml (a tunnel moving elsewhere). */
function setPublicUrl(/** @type {string} */ dataDir, /** @type {string} */ url) {
  const file = join(dataDir, 'config.toml');
  const text = readFileSync(file, 'utf8').replace(/^public_url = ".*"$/mu, `public_url = "${url}"`);
  writeFileSync(`${file}.edit`, text, { mode: 0o600 });
  renameSync(`${file}.edit`, file);
}

/** Reloads Setup once a second until `done` holds (the card shows the self-test's last verdict). */
async function reloadUntil(/** @type {import('playwright-core').Page} */ page, /** @type {() => Promise<boolean>} */ done, /** @type {string} */ what) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await page.reload();
    await page.getByTestId('linq-api-version').waitFor();
    if (await done()) return;
    assert.ok(Date.now() < deadline, what);
    await page.waitForTimeout(1000);
  }
}

describe('Connect to Linq (v3)', () => {
  /** @type {Awaited<ReturnType<typeof fakeLinqV3>> | undefined} */
  let fake;
  /** @type {Awaited<ReturnType<typeof L.startEngine>> | undefined} */
  let engine;
  /** @type {Awaited<ReturnType<typeof launch>> | undefined} */
  let browser;
  after(async () => {
    await browser?.close();
    await engine?.stop();
    engine?.removeData();
    fake?.close();
  });

  it('connects one line through v3, then a broken path raises a banner that recovery clears', async () => {
    fake = await fakeLinqV3();
    engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_WEBHOOK_SECRET: '', LINQ_INTEGRATION_TOKEN: LINQ_TOKEN, LINQ_INBOX_KEYRING: 'off', LINQ_INBOX_SELF_TEST_SECS: '1' } });
    browser = await launch();
    const page = browser.page;
    await page.goto(engine.loginUrl);
    await page.evaluate(() => (location.hash = '#/settings'));
    await page.getByRole('heading', { name: 'Connect to Linq' }).waitFor();
    assert.match(await page.getByTestId('linq-api-version').innerText(), /^Linq API v3$/u, 'Setup says which API');

    await page.getByTestId('linq-lines').waitFor();
    await page.getByLabel(LINES[1]).check();
    const publicUrl = `http://127.0.0.1:${engine.listenPort}`;
    await page.getByLabel('Public URL of your tunnel').fill(publicUrl);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByTestId('linq-connected').waitFor();
    const report = page.getByTestId('linq-test-report');
    await report.waitFor();
    assert.match(await report.innerText(), /Delivered/u, 'the path is checked right after connecting');
    const create = fake.seen.find((s) => s.method === 'POST');
    assert.deepEqual(create?.body.phone_numbers, [LINES[1]], 'only the chosen line');
    assert.equal(create?.body.target_url, `${publicUrl}/webhooks/linq?version=2026-02-03`);
    assert.equal(create?.auth, `Bearer ${LINQ_TOKEN}`);
    assert.ok(!(await page.content()).includes(SIGNING_SECRET), 'the signing secret is never on the page');
    assert.match(readFileSync(join(engine.dataDir, 'config.toml'), 'utf8'), new RegExp(SIGNING_SECRET), 'the app keeps it');

    setPublicUrl(engine.dataDir, `http://127.0.0.1:${await L.freePort()}`);
    const banner = page.getByTestId('linq-path-broken');
    await reloadUntil(page, async () => (await banner.count()) > 0, 'the self-test raises the banner');
    assert.match(await banner.innerText(), /not reaching the app: Nothing is listening[\s\S]*start it/u, 'where it breaks and what to do');
    await shot(page, 'setup-path-broken');

    setPublicUrl(engine.dataDir, publicUrl);
    await reloadUntil(page, async () => (await banner.count()) === 0, 'the banner clears once the path works again');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
