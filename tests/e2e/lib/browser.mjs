// @ts-check
// Chromium from Debian, driven by playwright-core: a fresh profile per launch, no network
// beyond the loopback engine.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { assertAccessible } from './axe.mjs';

export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * @param {{width?: number, height?: number, colorScheme?: 'light'|'dark', zoom?: number}} [opts] `zoom` 2 is the
 *   browser at 200%: the same window, half as many CSS pixels, each drawn twice as large.
 */
export async function launch(opts = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'linq-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: Math.round((opts.width ?? 1280) / (opts.zoom ?? 1)), height: Math.round((opts.height ?? 800) / (opts.zoom ?? 1)) },
    deviceScaleFactor: opts.zoom ?? 1,
    colorScheme: opts.colorScheme ?? 'light',
    locale: 'en-US',
    timezoneId: 'UTC',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  /** @type {string[]} */
  const dialogs = [];
  /** @type {string[]} */
  const errors = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return {
    context,
    page,
    dialogs,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Saves a screenshot under artifacts/ (light and dark are taken by the caller), and audits what
 * it shows with axe: whatever a spec finds worth a picture must also be accessible.
 */
export async function shot(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  await assertAccessible(page, name);
}
