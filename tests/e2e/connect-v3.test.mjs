// @ts-check
// Connect through Linq's v3 API in the browser, against the real engine and a local fake of
// Linq's v3 subscriptions: the API version shown, a line chosen, Linq's signing secret never on
// screen; then the self-test finds the path broken (Setup's banner says where and what to do)
// and clears the banner when it works again.
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { LINES, LINQ_TOKEN, SIGNING_SECRET, fakeLinqV3, useTeardown } from './lib/fake-linq.mjs';

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
  const session = useTeardown();

  it('connects one line through v3, then a broken path raises a banner that recovery clears', async () => {
    const fake = (session.fake = await fakeLinqV3());
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_WEBHOOK_SECRET: '', LINQ_INTEGRATION_TOKEN: LINQ_TOKEN, LINQ_INBOX_KEYRING: 'off', LINQ_INBOX_SELF_TEST_SECS: '1' } }));
    const browser = (session.browser = await launch());
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
    assert.match(await page.getByTestId('path-banner').innerText(), /not reaching the app \(Nothing is listening\)/u, 'the banner on every screen says it too');
    await shot(page, 'setup-path-broken');

    setPublicUrl(engine.dataDir, publicUrl);
    await reloadUntil(page, async () => (await banner.count()) === 0 && (await page.getByTestId('path-banner').count()) === 0, 'the banners clear once the path works again');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
