// @ts-check
// A new rep's first screen needs no terminal: the onboarding card copies the app's secret and
// sends demo traffic itself (`POST /api/demo`: simulate's story, signed with the app's secret,
// through its own webhook listener), and the inbox fills from it. Under `linq-inbox serve`
// Settings offers no start-at-login switch (only the desktop app has one).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { eventually } from './lib/wait.mjs';

describe('Onboarding', () => {
  /** @type {Awaited<ReturnType<typeof L.startEngine>> | undefined} */
  let engine;
  /** @type {Awaited<ReturnType<typeof launch>> | undefined} */
  let browser;
  after(async () => {
    await browser?.close();
    await engine?.stop();
    engine?.removeData();
  });

  it('copies the secret and sends demo traffic from buttons, and the inbox fills', async () => {
    engine = await L.startEngine();
    browser = await launch();
    const page = browser.page;
    await page.goto(engine.loginUrl);
    await page.evaluate(() => (location.hash = '#/activity'));
    await page.getByRole('heading', { name: 'Connect Linq in three steps' }).waitFor({ timeout: 10_000 });
    await shot(page, 'onboarding');

    await page.getByTestId('copy-secret').click();
    await page.getByTestId('guide-note').filter({ hasText: 'Secret copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), L.SECRET, 'the clipboard holds the app\'s secret');

    // The card leaves the Activity screen as soon as the first event is stored: the timeline
    // filling up is the answer to the click.
    await page.getByTestId('send-demo').click();
    await page.evaluate(() => (location.hash = '#/chats'));
    const running = engine;
    const chats = await eventually(async () => {
      const { chats } = await running.api('/api/chats');
      return chats.length >= 3 && chats;
    }, 'the demo made chats', 15_000);
    await page.getByText(chats[0].title, { exact: true }).first().waitFor({ timeout: 10_000 });
    const status = await engine.api('/api/status');
    assert.equal(status.rejected_count, 0, 'every demo delivery passed the signature check');

    await page.evaluate(() => (location.hash = '#/settings'));
    await page.getByRole('heading', { name: 'Appearance' }).waitFor();
    assert.equal(await page.getByTestId('start-at-login').count(), 0, 'serve has no start-at-login switch');
    // (The demo's attachments point at Linq's CDN, which a test machine cannot load.)
    assert.deepEqual(browser.errors.filter((e) => !/Failed to load resource|ERR_NAME_NOT_RESOLVED|net::/u.test(e)), [], 'no script errors');
  });
});
