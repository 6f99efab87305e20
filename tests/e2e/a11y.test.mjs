// @ts-check
// Accessible to every rep: axe-core finds nothing serious on any screen, in light and dark, in a
// wide window and a phone-narrow one; the app holds at 200% zoom and keeps still when reduced
// motion is asked for. The screens are found in the page (lib/screens.mjs), so a new one is
// covered without a line here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { audit, describe as describeFindings, tally } from './lib/axe.mjs';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { go, walk } from './lib/screens.mjs';
import { MARIA, MARIA_HANDLES, seedEvents } from './lib/seed.mjs';
import { eventually } from './lib/wait.mjs';

/** Burst size for the live region's rate limit (lib/announce.ts says one line per 2.5 s). */
const BURST = 12;
const GAP_MS = 2500;

/** What the page shows that it cannot: clipped text, controls out of reach, sideways scroll. */
async function clipped(/** @type {import('playwright-core').Page} */ page) {
  return page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > innerWidth + 1) out.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${innerWidth})`);
    for (const el of document.querySelectorAll('.app *')) {
      if (!(el instanceof HTMLElement) || el.getClientRects().length === 0) continue;
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      // Hidden on purpose for sight, kept for screen readers (the sr-only pattern).
      if (cs.clip !== 'auto' || r.width <= 1) continue;
      const control = el.matches('a[href], button, input, select, textarea, [role="tab"]');
      // Partly out of the window; wholly out is the skip link waiting for focus.
      const partly = (r.left < innerWidth && r.right > innerWidth + 1) || (r.left < -1 && r.right > 0);
      if (control && partly) out.push(`${el.tagName} "${(el.textContent ?? '').trim().slice(0, 30)}" is cut off at the side`);
      // Cut text with no ellipsis: the rep cannot tell anything is missing.
      const hides = cs.overflowX === 'hidden' || cs.overflowX === 'clip';
      if (hides && cs.textOverflow !== 'ellipsis' && el.scrollWidth > el.clientWidth + 1 && el.childElementCount === 0 && (el.textContent ?? '').trim()) {
        out.push(`${el.tagName}.${el.className} "${(el.textContent ?? '').trim().slice(0, 30)}" is clipped (${el.scrollWidth} > ${el.clientWidth})`);
      }
    }
    return out;
  });
}

/** @type {Awaited<ReturnType<typeof L.startEngine>>} */
let engine;
/** @type {Awaited<ReturnType<typeof launch>>[]} */
const browsers = [];

/** The session of the first login: the login link works once, later browsers reuse it. */
/** @type {Awaited<ReturnType<import('playwright-core').BrowserContext['cookies']>>} */
let session = [];

async function open(/** @type {Parameters<typeof launch>[0]} */ opts) {
  const b = await launch(opts);
  browsers.push(b);
  if (session.length) {
    await b.context.addCookies(session);
    await b.page.goto(engine.uiBase);
  } else {
    await b.page.goto(engine.loginUrl);
    session = await b.context.cookies();
  }
  await b.page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
  return b;
}

describe('accessibility', () => {
  before(async () => {
    engine = await L.startEngine();
    await L.deliverAll(engine.webhookUrl, seedEvents());
    // The simulator's v3 story adds what the seed lacks: number health, edits, failed sends.
    await L.simulate(engine.webhookUrl, ['--count', '60', '--seed', '3', '--api-version', 'v3']);
  });

  after(async () => {
    for (const b of browsers) await b.close();
    await engine?.stop();
    if (process.exitCode === undefined || process.exitCode === 0) engine?.removeData();
  });

  it('axe: every screen and state, light and dark, wide and narrow, has no serious or critical violation', async (t) => {
    const b = await open({});
    const page = b.page;
    /** @type {import('./lib/axe.mjs').Finding[]} */
    const findings = [];
    for (const [width, height] of [[1280, 800], [360, 740]]) {
      await page.setViewportSize({ width, height });
      for (const scheme of /** @type {const} */ (['light', 'dark'])) {
        await page.emulateMedia({ colorScheme: scheme });
        // Someone is typing in the first chat, so its row and thread show the dots.
        await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, true)]);
        await walk(page, async (state) => {
          findings.push(...(await audit(page, `${state} (${scheme}, ${width} px)`)));
        });
      }
    }
    await go(page, '#/activity');
    t.diagnostic(`axe: ${tally.audits} page states audited, ${tally.blocking} serious or critical violations, ${tally.other} moderate or minor`);
    assert.deepEqual(findings, [], `axe found serious or critical violations:\n${describeFindings(findings)}`);
    assert.ok(tally.audits >= 4 * 15, `every screen was audited in each of the four looks (${tally.audits} audits)`);
  });

  it('Screen reader: the chat list is a list, the thread a log; arrivals are spoken with sender and excerpt, a burst as one line', async (t) => {
    const b = await open({});
    const page = b.page;
    await go(page, '#/chats/chat-maria');
    await page.getByRole('navigation', { name: 'Chats' }).getByRole('list').waitFor();
    assert.ok((await page.getByRole('navigation', { name: 'Chats' }).getByRole('listitem').count()) >= 4, 'each chat is a list item');
    const log = page.getByRole('log', { name: 'Messages with María López' });
    await log.waitFor();
    assert.equal(await log.getAttribute('aria-live'), 'off', 'the windowed thread does not speak rows as they scroll in');
    // An image's alt text (caption, else file name) is checked where a kept image exists: attachments.test.mjs.

    const region = page.getByTestId('announcements');
    assert.equal(await region.getAttribute('aria-live'), 'polite', 'arrivals are spoken politely');
    const lines = () => region.locator('p').allInnerTexts();
    const long = `Quarterly numbers are in. ${'Revenue grew in every region and churn fell. '.repeat(10)}`;
    await L.deliverAll(engine.webhookUrl, [L.message({ id: 'sr-1', chat: 'chat-maria', text: long, from: MARIA, handles: MARIA_HANDLES })]);
    const first = await eventually(async () => (await lines()).find((l) => l.startsWith('María López: Quarterly numbers')), 'the new message is spoken');
    assert.ok(Array.from(first).length <= 160 && first.endsWith('…'), `the excerpt is bounded (${Array.from(first).length} characters)`);

    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, true)]);
    await eventually(async () => (await page.getByTestId('typing-status').innerText()) === 'María López is typing', 'typing is announced');
    assert.equal(await page.getByTestId('typing-status').getAttribute('role'), 'status', 'politely');
    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, false)]);

    const t0 = Date.now();
    await L.deliverAll(engine.webhookUrl, Array.from({ length: BURST }, (_, i) =>
      L.message({ id: `sr-burst-${i}`, chat: 'chat-maria', text: `burst ${i}`, from: MARIA, handles: MARIA_HANDLES })));
    const spread = Date.now() - t0;
    await page.waitForTimeout(GAP_MS * 2);
    const shown = await lines();
    const spoken = shown.slice(shown.findIndex((l) => l.startsWith('María López: Quarterly')) + 1);
    const counted = spoken.reduce((n, l) => n + (/^(\d+) new messages from María López$/u.exec(l) ? Number(/^(\d+)/u.exec(l)?.[1]) : l.startsWith('María López: burst') ? 1 : 0), 0);
    t.diagnostic(`live region: ${JSON.stringify(first)}, then for a burst of ${BURST} in ${spread} ms: ${JSON.stringify(spoken)}`);
    assert.equal(counted, BURST, `every message of the burst is accounted for: ${JSON.stringify(spoken)}`);
    assert.ok(spoken.length <= 2 + Math.ceil(spread / GAP_MS), `${BURST} messages in ${spread} ms made ${spoken.length} lines, not one each`);
    await shot(page, 'screen-reader-thread');
  });

  for (const [width, height] of [[1280, 800], [1920, 1080]]) {
    it(`200% zoom in a ${width}×${height} window: nothing clipped, every control in reach`, async () => {
      const b = await open({ width, height, zoom: 2 });
      const page = b.page;
      for (const [name, hash] of [['thread', '#/chats/chat-group'], ['thread-attachments', '#/chats/chat-maria'], ['settings', '#/settings'], ['setup', '#/setup'], ['calls', '#/calls/call-1'], ['events', '#/events']]) {
        await go(page, hash);
        await shot(page, `zoom200-${width}-${name}`);
        assert.deepEqual(await clipped(page), [], `${name} at 200% in ${width}×${height}`);
      }
      // The last setting can be scrolled to and used.
      await go(page, '#/settings');
      const last = page.getByLabel('Dark');
      await last.scrollIntoViewIfNeeded();
      assert.ok(await last.isVisible(), 'the last setting scrolls into view');
    });
  }

  it('Reduced motion: the typing dots and every animation or transition stand still', async () => {
    const b = await open({});
    const page = b.page;
    await go(page, '#/chats/chat-maria');
    /** The animations and transitions that still move, as "element: what". */
    const moving = () => page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll('*')) {
        const cs = getComputedStyle(el);
        const secs = (/** @type {string} */ v) => Math.max(...v.split(',').map((x) => parseFloat(x) * (x.trim().endsWith('ms') ? 0.001 : 1)));
        if (cs.animationName !== 'none' && secs(cs.animationDuration) > 0.001 && cs.animationIterationCount !== '1') out.push(`${el.tagName}.${el.className}: animation ${cs.animationName}`);
        if (secs(cs.transitionDuration) > 0.001) out.push(`${el.tagName}.${el.className}: transition ${cs.transitionProperty}`);
      }
      return out;
    });
    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, true)]);
    const dots = page.getByTestId('typing-bubble').locator('i').first();
    await dots.waitFor({ timeout: 3000 });
    assert.match(await dots.evaluate((el) => getComputedStyle(el).animationName), /blink$/u, 'without the preference the dots pulse');
    assert.ok((await moving()).length > 0, 'and the page has something moving');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    assert.equal(await dots.evaluate((el) => getComputedStyle(el).animationName), 'none', 'with it the dots stand still');
    assert.deepEqual(await moving(), [], 'and so does everything else');
    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, false)]);
  });
});
