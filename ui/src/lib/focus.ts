// Where keyboard focus goes when the route changes, so a keyboard or screen reader user lands
// on what just opened and comes back to where they were:
// - a chat opened to reply (`#/chats/<id>/reply`, the notification's Reply): the composer;
// - a detail opened (a chat, a call, an event): its heading, in the detail pane;
// - a detail closed (Esc, the back button): the list item it was opened from;
// - another section: its heading.
// The heading is made focusable (tabindex -1) on the way; nothing moves when the target is not
// on screen (a hidden pane), so focus is never sent where the rep cannot see it.

import { href, type Route } from './router.svelte';

function visible(el: Element | null): el is HTMLElement {
  return el instanceof HTMLElement && el.getClientRects().length > 0;
}

function focusOn(el: HTMLElement): void {
  if (!el.hasAttribute('tabindex') && !el.matches('a[href], button, input, select, textarea')) el.setAttribute('tabindex', '-1');
  el.focus();
}

/** The element focus belongs on after moving from `from` to `to`, or null to leave it be. */
export function focusTarget(root: ParentNode, from: Route, to: Route): HTMLElement | null {
  if (to.reply) {
    const composer = root.querySelector('#composer');
    if (visible(composer)) return composer;
  }
  if (to.id) {
    const heading = root.querySelector('.detail-pane h2');
    return visible(heading) ? heading : null;
  }
  if (from.id && from.section === to.section) {
    const want = href(from.section, from.id);
    const item = [...root.querySelectorAll('.list-pane [data-nav-item]')].find((el) => el.getAttribute('href') === want) ?? null;
    if (visible(item)) return item;
  }
  const heading = root.querySelector('h1');
  return visible(heading) ? heading : null;
}

/** Moves focus for a route change; see the module comment. */
export function placeFocus(root: ParentNode, from: Route, to: Route): void {
  const target = focusTarget(root, from, to);
  if (target && document.activeElement !== target) focusOn(target);
}
