// @ts-check
// The inbox with the keyboard alone: Tab, Shift+Tab, arrows, Enter, Space and Escape, never the
// mouse. Every screen the nav rail offers (found in the page, so a new one is walked too) is
// reached from the rail, lands focus on its heading, lets Tab reach each visible control with a
// visible focus ring and come back round; each list opens its first item with Enter, focus
// moves into the detail, and Escape brings it back to the item.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { focused, tabCycle, tabTo } from './lib/keyboard.mjs';
import { sections, settle } from './lib/screens.mjs';
import { seedEvents } from './lib/seed.mjs';
import { eventually } from './lib/wait.mjs';

/** @type {Awaited<ReturnType<typeof L.startEngine>>} */
let engine;
/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
/** @type {import('playwright-core').Page} */
let page;

const hash = () => page.evaluate(() => location.hash);

/** Tab round the screen as it is: everything reachable, every stop visible, no trap. */
async function assertTabCycle(/** @type {string} */ state) {
  const c = await tabCycle(page);
  assert.deepEqual(c.unreached, [], `${state}: every visible control is reachable with Tab`);
  assert.deepEqual(c.unseen, [], `${state}: every Tab stop shows its focus on screen`);
  assert.ok(c.back, `${state}: Tab comes back round after ${c.stops} stops (no keyboard trap)`);
}

describe('keyboard only', () => {
  before(async () => {
    engine = await L.startEngine();
    await L.deliverAll(engine.webhookUrl, seedEvents());
    browser = await launch();
    page = browser.page;
    await page.goto(engine.loginUrl);
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
    await settle(page);
  });

  after(async () => {
    await browser?.close();
    await engine?.stop();
    if (process.exitCode === undefined || process.exitCode === 0) engine?.removeData();
  });

  it('The first Tab shows "Skip to content"; Enter on it moves focus into the screen without navigating', async () => {
    const before = await hash();
    await page.keyboard.press('Tab');
    const skip = await focused(page);
    assert.equal(skip.name, 'Skip to content', 'the skip link is the first stop');
    assert.ok(skip.onScreen && skip.indicator, 'and it shows when focused');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main-content', 'focus is in the content');
    assert.equal(await hash(), before, 'the route did not change');
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => !!document.activeElement?.closest('#main-content')), 'the next Tab stays in the content');
  });

  it('Every screen: reached from the rail, heading focused, every control reachable and visible, list items open and close', async (t) => {
    const all = await sections(page);
    assert.ok(all.length >= 7, `the rail lists the screens (${all.map((s) => s.name)})`);
    for (const s of all) {
      await tabTo(page, `nav a[data-section="${s.name}"]`, { back: true });
      await page.keyboard.press('Enter');
      await eventually(async () => (await hash()) === s.href, `Enter opened ${s.name}`);
      await settle(page);
      const landed = await focused(page);
      assert.equal(landed.tag, 'H1', `${s.name}: focus moved to the screen's heading (it is on ${landed.tag} "${landed.name}")`);
      await assertTabCycle(s.name);

      const items = await page.locator('.list-pane [data-nav-item]').count();
      if (items === 0) continue;
      await tabTo(page, '.list-pane [data-nav-item]');
      const item = (await focused(page)).href;
      await page.keyboard.press('Enter');
      await eventually(async () => (await hash()) === item, `Enter opened ${item}`);
      await settle(page);
      const detail = await focused(page);
      assert.equal(detail.tag, 'H2', `${item}: focus moved to the detail's heading (it is on ${detail.tag} "${detail.name}")`);
      assert.ok(detail.name.length > 0 && detail.onScreen, `${item}: the heading names what opened`);
      await assertTabCycle(item);
      await page.keyboard.press('Escape');
      await eventually(async () => (await hash()) === s.href, `Escape closed ${item}`);
      await eventually(async () => (await focused(page)).href === item, `focus went back to ${item}`);
      t.diagnostic(`${s.name}: opened and closed ${item}`);
    }
  });

  it('Chats: arrows move through the list, Enter opens, the thread scrolls from the keyboard, Escape returns', async () => {
    await tabTo(page, 'nav a[data-section="chats"]', { back: true });
    await page.keyboard.press('Enter');
    await settle(page);
    await tabTo(page, 'a[data-chat-id]');
    const first = (await focused(page)).href;
    await page.keyboard.press('ArrowDown');
    const second = (await focused(page)).href;
    assert.notEqual(second, first, 'ArrowDown moved to the next chat');
    await page.keyboard.press('ArrowUp');
    assert.equal((await focused(page)).href, first, 'ArrowUp moved back');
    // A short window, so even a short thread scrolls.
    await page.setViewportSize({ width: 1280, height: 420 });
    await page.keyboard.press('Enter');
    await page.locator('section.thread').waitFor();
    await settle(page);
    await tabTo(page, '[role="log"]');
    const log = await focused(page);
    assert.match(log.name, /^Messages with /u, 'the thread is a log named for the conversation');
    assert.ok(log.indicator, 'the focused thread shows its focus');
    const scroll = () => page.evaluate(() => document.activeElement?.scrollTop ?? -1);
    const scrollable = await page.evaluate(() => {
      const el = document.activeElement;
      return !!el && el.scrollHeight > el.clientHeight;
    });
    assert.ok(scrollable, 'the thread is longer than its window');
    const bottom = await scroll();
    await page.keyboard.press('Home');
    await eventually(async () => (await scroll()) < bottom, 'Home scrolled the thread up');
    await page.keyboard.press('End');
    await eventually(async () => (await scroll()) >= bottom - 2, 'End scrolled it back down');
    await page.keyboard.press('Escape');
    await eventually(async () => (await focused(page)).href === first, 'Escape returned focus to the chat');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('Search: "/" opens it focused, arrows and Enter open a hit, Tab stays in the dialog, Escape gives focus back', async () => {
    await page.keyboard.press('/');
    const input = await focused(page);
    assert.equal(input.role, 'combobox', 'focus is in the search box');
    await page.keyboard.type('tomorrow');
    await page.locator('[role="option"]').first().waitFor({ timeout: 3000 });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.locator('[role="option"][aria-selected="true"]').count(), 1, 'one hit is active');
    await page.keyboard.press('Enter');
    await page.locator('[data-message-id="m-3"].highlighted').waitFor({ timeout: 3000 });
    await eventually(async () => (await focused(page)).tag === 'H2', 'focus is on the opened conversation');
    const before = await focused(page);

    await page.keyboard.press('Control+k');
    assert.equal((await focused(page)).role, 'combobox', 'Ctrl+K opens search focused');
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      const inDialog = await page.evaluate(() => !!document.activeElement?.closest('dialog[open]') || document.activeElement === document.body);
      assert.ok(inDialog, 'Tab stays in the open dialog');
    }
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached', timeout: 2000 }).catch(() => undefined);
    assert.equal(await page.locator('dialog[open]').count(), 0, 'Escape closed the dialog');
    const after = await focused(page);
    assert.equal(`${after.tag} ${after.name}`, `${before.tag} ${before.name}`, 'focus went back where it was');
  });

  it('Settings: Space toggles a switch, arrows choose the theme; Setup: Enter reveals the secret; Events: arrows switch tabs', async () => {
    await tabTo(page, 'nav a[data-section="settings"]', { back: true });
    await page.keyboard.press('Enter');
    await settle(page);
    const wasOn = (await engine.api('/api/settings')).notify.reaction;
    await tabTo(page, 'input[type="checkbox"]');
    for (let i = 0; i < 5 && !/Reactions/u.test(await page.evaluate(() => document.activeElement?.closest('label')?.textContent ?? '')); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await eventually(async () => (await engine.api('/api/settings')).notify.reaction === !wasOn, 'Space saved the reactions switch');
    await page.keyboard.press('Space');
    await eventually(async () => (await engine.api('/api/settings')).notify.reaction === wasOn, 'and Space put it back');
    await tabTo(page, 'input[type="radio"]:checked');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await eventually(async () => (await page.evaluate(() => document.documentElement.dataset['theme'])) === 'dark', 'arrows chose Dark');
    await shot(page, 'keyboard-settings-dark');
    await page.keyboard.press('ArrowRight');
    await eventually(async () => (await page.evaluate(() => document.documentElement.dataset['theme'])) === undefined, 'and round to Match system');

    await tabTo(page, 'nav a[data-section="setup"]', { back: true });
    await page.keyboard.press('Enter');
    await settle(page);
    await tabTo(page, 'button[aria-pressed]');
    await page.keyboard.press('Enter');
    await eventually(async () => (await page.getByTestId('secret').innerText()) === L.SECRET, 'Enter revealed the secret');
    await page.keyboard.press('Enter');
    await eventually(async () => (await page.getByTestId('secret').innerText()) !== L.SECRET, 'Enter hid it again');

    await tabTo(page, 'nav a[data-section="events"]', { back: true });
    await page.keyboard.press('Enter');
    await settle(page);
    await tabTo(page, '[role="tab"][aria-selected="true"]');
    await page.keyboard.press('ArrowRight');
    await page.getByRole('tabpanel', { name: 'Refused deliveries' }).waitFor({ timeout: 2000 });
    await eventually(async () => /Refused/u.test((await focused(page)).name), 'focus moved with the selection');
    await page.keyboard.press('Home');
    await page.locator('a[data-seq]').first().waitFor({ timeout: 2000 });
    // The tab takes focus a tick after the panel changes, as with ArrowRight above.
    await eventually(async () => /Delivered/u.test((await focused(page)).name), 'Home went back to the first tab');
    assert.deepEqual(browser.dialogs, [], 'no browser dialog was needed');
  });
});
