// @ts-check
// The stream survives the engine going away: the page says so, reconnects by itself, and
// resumes from the last event it saw, so events committed while it was away still arrive, once.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { MARIA, MARIA_HANDLES } from './lib/seed.mjs';
import { eventually } from './lib/wait.mjs';

/** @type {Awaited<ReturnType<typeof L.startEngine>>[]} */
const engines = [];
/** @type {Awaited<ReturnType<typeof launch>> | undefined} */
let browser;

describe('server restart', () => {
  after(async () => {
    await browser?.close();
    for (const e of engines) await e.stop();
    engines[0]?.removeData();
  });

  it('reconnects and resumes without losing or repeating an event', async () => {
    L.setClock('2026-11-21T09:00:00Z');
    const first = await L.startEngine();
    engines.push(first);
    await L.deliverAll(first.webhookUrl, [L.message({ id: 'r-1', chat: 'chat-maria', text: 'Before the restart', from: MARIA, handles: MARIA_HANDLES })]);
    browser = await launch();
    const page = browser.page;
    await page.goto(first.loginUrl);
    const live = page.getByTestId('live-state');
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
    await page.evaluate(() => (location.hash = '#/chats/chat-maria'));
    await page.locator('[data-message-id="r-1"]').waitFor();

    await first.stop();
    await page.locator('[data-testid="live-state"][data-state="reconnecting"]').waitFor({ timeout: 5000 });
    assert.equal(await live.innerText(), 'Reconnecting…', 'the page says it lost the stream');
    await shot(page, 'reconnecting-light');

    const second = await L.startEngine({ dataDir: first.dataDir, listenPort: first.listenPort, uiPort: first.uiPort });
    engines.push(second);
    // Delivered right away: most likely before the page is back, so only resuming finds them.
    await L.deliverAll(second.webhookUrl, [
      L.message({ id: 'r-2', chat: 'chat-maria', text: 'While you were away', from: MARIA, handles: MARIA_HANDLES }),
      L.message({ id: 'r-3', chat: 'chat-maria', text: 'And one more', from: MARIA, handles: MARIA_HANDLES }),
    ]);
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-message-id="r-3"]').waitFor({ timeout: 5000 });
    await L.deliverAll(second.webhookUrl, [L.message({ id: 'r-4', chat: 'chat-maria', text: 'After the restart', from: MARIA, handles: MARIA_HANDLES })]);
    await page.locator('[data-message-id="r-4"]').waitFor({ timeout: 2000 });
    for (const id of ['r-1', 'r-2', 'r-3', 'r-4']) {
      assert.equal(await page.locator(`[data-message-id="${id}"]`).count(), 1, `${id} shows exactly once`);
    }
    await page.evaluate(() => (location.hash = '#/activity'));
    const entries = await eventually(async () => {
      const t = await page.getByRole('list', { name: 'Activity' }).innerText();
      return t.includes('After the restart') ? t : null;
    }, 'activity to catch up');
    for (const text of ['Before the restart', 'While you were away', 'And one more', 'After the restart']) {
      assert.equal(entries.split(text).length - 1, 1, `"${text}" is in Activity exactly once`);
    }
    assert.deepEqual(browser.dialogs, []);
  });
});
