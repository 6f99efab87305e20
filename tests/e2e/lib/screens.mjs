// @ts-check
// The screens the app has, found in the page rather than listed here: the sections in the nav
// rail, the first items of each section's list, and the tabs a screen offers. A screen added to
// the app is walked by the accessibility specs without touching them.

/** @typedef {import('playwright-core').Page} Page */

/** Routes to a hash and gives the screen a moment to render what it has. */
export async function go(/** @type {Page} */ page, /** @type {string} */ hash) {
  await page.evaluate((h) => (location.hash = h), hash);
  await settle(page);
}

/** Waits until nothing says it is loading and the frame after has painted. */
export async function settle(/** @type {Page} */ page) {
  await page.waitForFunction(() => !/Loading/u.test(document.querySelector('.view')?.textContent ?? ''), undefined, { timeout: 5000 }).catch(() => undefined);
  await page.waitForTimeout(120);
}

/** The sections of the nav rail, in order: `{ name, href }`. */
export async function sections(/** @type {Page} */ page) {
  return page.$$eval('nav[aria-label="Sections"] a[data-section]', (els) =>
    els.map((a) => ({ name: a.getAttribute('data-section') ?? '', href: a.getAttribute('href') ?? '' })),
  );
}

/** The hrefs of the first `max` items of the list the screen shows (a chat, a call, ...). */
export async function listItems(/** @type {Page} */ page, max = 3) {
  return page.$$eval('.list-pane [data-nav-item]', (els, n) => els.slice(0, n).map((a) => a.getAttribute('href') ?? ''), max);
}

/** The names of the tabs the screen shows that are not selected now. */
export async function otherTabs(/** @type {Page} */ page) {
  return page.$$eval('.view [role="tab"]:not([aria-selected="true"])', (els) => els.map((t) => t.textContent?.trim() ?? ''));
}

/**
 * Visits every screen and state found as above, calling `visit(state)` on each: each section,
 * up to `items` of its list items opened, each of its other tabs, and the search dialog with a
 * query that finds something.
 * @param {Page} page
 * @param {(state: string) => Promise<void>} visit
 * @param {{ items?: number, search?: string }} [opts]
 */
export async function walk(page, visit, opts = {}) {
  for (const s of await sections(page)) {
    await go(page, s.href);
    await visit(s.name);
    for (const tab of await otherTabs(page)) {
      await page.getByRole('tab', { name: tab }).click();
      await settle(page);
      await visit(`${s.name} tab ${tab}`);
    }
    for (const href of await listItems(page, opts.items ?? 3)) {
      await go(page, href);
      await visit(href.replace(/^#\//u, ''));
    }
  }
  await go(page, (await sections(page))[0]?.href ?? '#/');
  await page.keyboard.press('/');
  await page.getByRole('combobox').fill(opts.search ?? 'tomorrow');
  await page.locator('[role="option"]').first().waitFor({ timeout: 3000 });
  await visit('search');
  await page.keyboard.press('Escape');
}
