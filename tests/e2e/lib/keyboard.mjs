// @ts-check
// Keyboard-only checks that hold for any screen: what Tab reaches, whether each stop shows that
// it has focus, and whether Tab ever comes back round (no trap).

/** @typedef {import('playwright-core').Page} Page */

/** What Tab should reach: every visible control. */
const FOCUSABLE = [
  'a[href]', 'button:not([disabled])', 'input:not([disabled]):not([type="hidden"])', 'select:not([disabled])',
  'textarea:not([disabled])', 'summary', 'audio[controls]', '[tabindex]:not([tabindex="-1"])',
].join(', ');

/**
 * The focused element, described for assertions: its tag, role, accessible-ish name, href,
 * whether a focus indicator is drawn and whether it is on screen.
 */
export async function focused(/** @type {Page} */ page) {
  return page.evaluate(() => {
    const el = /** @type {HTMLElement | null} */ (document.activeElement);
    if (!el || el === document.body) return { tag: 'BODY', role: '', name: '', href: '', kbd: '', indicator: false, onScreen: false };
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      tag: el.tagName,
      role: el.getAttribute('role') ?? '',
      name: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/gu, ' ').slice(0, 80),
      href: el.getAttribute('href') ?? '',
      kbd: el.getAttribute('data-kbd') ?? '',
      indicator: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none',
      onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
    };
  });
}

/**
 * Presses Tab (or Shift+Tab) until the focused element matches `selector`; returns how many
 * presses it took, or throws when `max` presses never got there (not reachable by keyboard).
 */
export async function tabTo(/** @type {Page} */ page, /** @type {string} */ selector, { back = false, max = 300 } = {}) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
  }
  throw new Error(`${max} presses of ${back ? 'Shift+Tab' : 'Tab'} never reached ${selector}`);
}

/**
 * Goes round the whole tab order once from where focus is, and reports: the visible controls
 * Tab never reached, the stops with no visible focus indicator or off screen, and whether focus
 * came back to the first stop (false: a keyboard trap, or more stops than `max`).
 */
export async function tabCycle(/** @type {Page} */ page, max = 400) {
  const expected = await page.evaluate((sel) => {
    const seen = (/** @type {Element} */ el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[inert]');
    // One radio of a group is the Tab stop; arrows move between the rest (as between tabs,
    // whose others say so with tabindex -1).
    const arrowed = (/** @type {Element} */ el) => el instanceof HTMLInputElement && el.type === 'radio' && !el.checked &&
      !!document.querySelector(`input[type="radio"][name="${CSS.escape(el.name)}"]:checked`);
    const all = [...document.querySelectorAll(sel)].filter((el) => el.getAttribute('tabindex') !== '-1' && seen(el) && !arrowed(el));
    all.forEach((el, i) => el.setAttribute('data-kbd', String(i)));
    return all.map((el) => `${el.tagName.toLowerCase()} ${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}`);
  }, FOCUSABLE);
  /** @type {Set<string>} */
  const reached = new Set();
  /** @type {string[]} */
  const unseen = [];
  let first = '';
  let prev = '';
  let back = false;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f.tag === 'BODY') continue; // between the last stop and the first: the browser's own
    const key = f.kbd || `${f.tag} ${f.name}`;
    // A media element's own buttons are stops inside it: the element stays the active one.
    if (key === prev) continue;
    prev = key;
    if (key === first) {
      back = true;
      break;
    }
    if (!first) first = key;
    reached.add(key);
    if (!f.indicator || !f.onScreen) unseen.push(`${f.tag} "${f.name}"${f.indicator ? '' : ' has no focus indicator'}${f.onScreen ? '' : ' is off screen'}`);
  }
  const unreached = expected.filter((_, i) => !reached.has(String(i)));
  await page.evaluate(() => document.querySelectorAll('[data-kbd]').forEach((el) => el.removeAttribute('data-kbd')));
  return { stops: reached.size, unreached, unseen, back };
}
