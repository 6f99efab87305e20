// @ts-check
// The Activity screen reads the same after a reload as it did live, entry for entry and word for
// word, for every event type of the simulator's story told as API v2 and as API v3. Live entries
// come from the stream; after a reload they come from `GET /api/activity` (the same items, built
// from the engine's views); the UI words both with one function and never reads a payload.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';

/** Event types that never make a timeline entry: the message or call event says it. */
const QUIET = new Set([
  'message.delivered', 'reaction.removed', 'call.initiated', 'call.ringing', 'call.answered',
  'typing_indicator.received', 'typing_indicator.removed', 'chat.typing_indicator.started', 'chat.typing_indicator.stopped',
]);
/** Event types that always make one, used to tell when the stream has caught up. */
const LOUD = new Set(['message.received', 'message.sent', 'contact.created', 'contact.updated', 'contact.deleted']);

/** What the Activity screen shows, entry by entry. */
async function entries(/** @type {import('playwright-core').Page} */ page) {
  return page.$$eval('.timeline a.entry', (els) =>
    els.map((e) => ({
      seq: Number(e.getAttribute('data-seq')),
      type: e.getAttribute('data-type'),
      icon: e.querySelector('.icon')?.className ?? '',
      text: e.querySelector('.what')?.textContent ?? '',
      href: e.getAttribute('href'),
      at: e.querySelector('time')?.getAttribute('datetime') ?? null,
    })),
  );
}

/** Waits until the screen shows an entry for `seq` and then stays the same for a while. */
async function settled(/** @type {import('playwright-core').Page} */ page, /** @type {number} */ seq) {
  const deadline = Date.now() + 20_000;
  let last = '';
  let stableSince = Date.now();
  for (;;) {
    const now = await entries(page);
    const text = JSON.stringify(now);
    if (text !== last) {
      last = text;
      stableSince = Date.now();
    }
    if (now.some((e) => e.seq === seq) && Date.now() - stableSince > 1500) return now;
    if (Date.now() > deadline) throw new Error(`the Activity screen did not settle on seq ${seq}: ${now.length} entries`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** @type {Awaited<ReturnType<typeof L.startEngine>>[]} */
const engines = [];
/** @type {Awaited<ReturnType<typeof launch>>[]} */
const browsers = [];

describe('Activity after a reload', () => {
  after(async () => {
    for (const b of browsers) await b.close();
    for (const e of engines) {
      await e.stop();
      e.removeData();
    }
  });

  for (const [dialect, extra] of /** @type {const} */ ([['v2', []], ['v3', ['--api-version', 'v3']]])) {
    it(`reads exactly as it did live, for every event type (${dialect})`, async () => {
      const engine = await L.startEngine();
      engines.push(engine);
      const browser = await launch();
      browsers.push(browser);
      const page = browser.page;
      await page.goto(engine.loginUrl);
      await page.evaluate(() => (location.hash = '#/activity'));
      await page.getByRole('heading', { name: 'Activity' }).waitFor({ timeout: 10_000 });

      await L.simulate(engine.webhookUrl, ['--count', '120', '--seed', '7', ...extra]);
      /** @type {{items: {seq: number, event: string}[], has_more: boolean}} */
      const log = await engine.api('/api/activity?limit=500');
      assert.equal(log.has_more, false, 'the whole story fits on one page');
      assert.ok(log.items.length <= 200, `the story fits in the first page a reload reads (${log.items.length} items)`);
      const newestLoud = log.items.find((i) => LOUD.has(i.event));
      assert.ok(newestLoud, 'the story has messages');

      const live = await settled(page, newestLoud.seq);
      await shot(page, `activity-live-${dialect}`);
      await page.reload();
      await page.getByRole('heading', { name: 'Activity' }).waitFor({ timeout: 10_000 });
      const reloaded = await settled(page, newestLoud.seq);
      await shot(page, `activity-reloaded-${dialect}`);

      const types = new Set(log.items.map((i) => i.event));
      const shown = new Set(live.map((e) => e.type));
      for (const type of types) {
        if (!QUIET.has(type)) assert.ok(shown.has(type), `${dialect}: ${type} has an entry on the live timeline`);
      }
      assert.ok(types.size >= (dialect === 'v2' ? 11 : 20), `${dialect}: the story covers the event types (${[...types].join(', ')})`);
      const bySeq = new Map(live.map((e) => [e.seq, e]));
      for (const entry of reloaded) {
        assert.deepEqual(entry, bySeq.get(entry.seq), `${dialect}: ${entry.type} #${entry.seq} reads after the reload as it did live`);
      }
      assert.deepEqual(reloaded.map((e) => e.seq), live.map((e) => e.seq), `${dialect}: the reload shows the same entries, in the same order`);
      assert.deepEqual(browser.errors.filter((e) => !/Failed to load resource|ERR_NAME_NOT_RESOLVED|net::/u.test(e)), [], `${dialect}: no errors in the page`);
    });
  }
});
