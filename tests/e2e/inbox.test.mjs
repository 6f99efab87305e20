// @ts-check
// The live inbox, end to end: the real engine, fed by signed webhooks, shown in Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { HOSTILE_TEXTS, LONG, MARIA, MARIA_HANDLES, seedEvents } from './lib/seed.mjs';
import { eventually } from './lib/wait.mjs';

/** @type {Awaited<ReturnType<typeof L.startEngine>>} */
let engine;
/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
/** @type {import('playwright-core').Page} */
let page;

const bubble = (/** @type {string} */ id) => page.locator(`[data-message-id="${id}"]`);
const chatRow = (/** @type {string} */ id) => page.locator(`a[data-chat-id="${id}"]`);

async function go(/** @type {string} */ hash) {
  await page.evaluate((h) => (location.hash = h), hash);
}

describe('live inbox', () => {
  before(async () => {
    engine = await L.startEngine();
    await L.deliverAll(engine.webhookUrl, seedEvents());
    browser = await launch();
    page = browser.page;
    await page.goto(engine.loginUrl);
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor({ timeout: 10_000 });
  });

  after(async () => {
    await browser?.close();
    await engine?.stop();
    if (process.exitCode === undefined || process.exitCode === 0) engine?.removeData();
  });

  it('Activity reads like sentences and each entry opens its place', async () => {
    await go('#/activity');
    const timeline = page.getByRole('list', { name: 'Activity' });
    await timeline.waitFor();
    const text = await timeline.innerText();
    for (const line of [
      'María López: Can we talk tomorrow?',
      "Priya Raman reacted ❤️ to 'Sure, 10am works'",
      'Missed call from Priya Raman: voicemail, 40 s',
      'Amara Obi was added',
      'Call from Koji Tanaka, 5 min 30 s',
    ]) {
      assert.ok(text.includes(line), `activity shows "${line}"; it shows:\n${text}`);
    }
    const first = timeline.locator('a').first();
    assert.match(await first.innerText(), /María López: Here is the signed copy|sent/u, 'newest entry first');
    await timeline.getByText('María López: Can we talk tomorrow?').click();
    await bubble('m-3').waitFor();
    assert.match(page.url(), /#\/chats\/chat-maria\/m\/m-3$/u, 'a message entry opens its chat at the message');
    await page.locator('[data-message-id="m-3"].highlighted').waitFor({ timeout: 2000 });
  });

  it('Chat list: names, previews, unread badges, newest first, filters', async () => {
    await go('#/chats');
    const rows = page.locator('a[data-chat-id]');
    await eventually(async () => (await rows.count()) === 4, 'four chats');
    const order = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-chat-id')));
    assert.deepEqual(order, ['chat-maria', 'chat-hostile', 'chat-koji2', 'chat-group'], 'newest activity first');
    const maria = await chatRow('chat-maria').innerText();
    assert.match(maria, /María López/u, 'contact name');
    assert.match(maria, /📎 contract\.pdf|Here is the signed copy/u, 'last message preview');
    assert.equal(await chatRow('chat-maria').locator('.avatar').innerText(), 'ML', 'initials avatar');
    assert.equal(await chatRow('chat-koji2').locator('[aria-label$="unread"]').innerText(), '1', 'unread badge');
    await page.getByLabel('Filter chats').fill('koji');
    await eventually(async () => (await rows.count()) === 2, 'filtered to the chats with Koji');
    await page.getByLabel('Filter chats').fill('');
    const numbers = page.getByLabel('Linq number');
    assert.equal(await numbers.isVisible(), true, 'two Linq numbers: a number filter');
    await numbers.selectOption(L.ME2.identifier);
    await eventually(async () => (await rows.count()) === 1, 'only the second number’s chat');
    assert.equal(await rows.first().getAttribute('data-chat-id'), 'chat-koji2');
    await numbers.selectOption('');

    // The open chat is marked, and only it: after switching, and after the rows are re-made.
    const current = () => page.locator('[data-list="chats"] a[aria-current="page"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-chat-id')));
    await go('#/chats/chat-group');
    await eventually(async () => JSON.stringify(await current()) === '["chat-group"]', 'the open chat is marked');
    await go('#/chats/chat-maria');
    await eventually(async () => JSON.stringify(await current()) === '["chat-maria"]', 'the mark moves with the open chat');
    await page.getByLabel('Filter chats').fill('maria');
    await eventually(async () => (await rows.count()) === 1, 'filtered to María');
    await page.getByLabel('Filter chats').fill('');
    await eventually(async () => (await rows.count()) === 4, 'all four again');
    assert.deepEqual(await current(), ['chat-maria'], 're-made rows keep the mark');
  });

  it('Thread: groups, day separators, names, service, attachments, reactions, receipts, membership', async () => {
    await go('#/chats/chat-maria');
    await bubble('m-5').waitFor();
    const days = await page.locator('.day').allInnerTexts();
    assert.equal(days.length, 2, `two days in this thread: ${days}`);
    assert.equal(await bubble('m-3').getAttribute('data-direction'), 'inbound');
    assert.equal(await bubble('m-4').getAttribute('data-direction'), 'outbound');
    assert.match(await bubble('m-4').innerText(), /Read \d{1,2}:\d\d (AM|PM)/u, 'the read outbound message says when it was read');
    assert.equal(await bubble('m-2').locator('[data-testid="read-receipt"]').count(), 0, 'only the last read message carries it');
    assert.match(await bubble('m-5').innerText(), /iMessage/u, 'the service is shown');
    const pdf = bubble('m-5').locator('.card', { hasText: 'contract.pdf' });
    assert.match(await pdf.innerText(), /PDF/u, 'attachment card shows its type');
    // storage.example.test does not resolve: the files are not kept, and the cards say so.
    const why = pdf.locator('[data-testid="attachment-error"]');
    await why.waitFor({ timeout: 10_000 });
    assert.match(await why.innerText(), /^Not kept: Could not reach Linq's file server/u, 'the failure is a sentence');
    assert.equal(await bubble('m-5').locator('a[href^="https://storage.example.test"]').count(), 0, 'no link to Linq\'s copy');
    assert.equal(await bubble('m-5').locator('img').count(), 0, 'an image that is not kept is a card, never a broken preview');

    await go('#/chats/chat-group');
    await bubble('g-3').waitFor();
    assert.match(await bubble('g-1').innerText(), /Priya Raman/u, 'group shows the sender name');
    const love = bubble('g-3').locator('[data-reaction="love"]');
    assert.match(await love.innerText(), /❤️\s*Priya Raman/u, 'the reaction is a badge on its bubble, with who');
    assert.equal(await bubble('g-1').locator('[data-reaction]').count(), 0, 'and on no other bubble');
    assert.match(await page.locator('[data-kind="membership"]').innerText(), /Amara Obi was added/u, 'membership as a system line');
  });

  it('Live: a message appears within a second, typing comes and goes, reactions and receipts land', async () => {
    await go('#/chats/chat-maria');
    await bubble('m-5').waitFor();
    const t0 = Date.now();
    await L.deliverAll(engine.webhookUrl, [L.message({ id: 'm-6', chat: 'chat-maria', text: 'Live hello 👋', from: MARIA, handles: MARIA_HANDLES })]);
    await bubble('m-6').waitFor({ timeout: 1000 });
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `the new message showed in ${ms} ms`);
    assert.match(await chatRow('chat-maria').innerText(), /Live hello/u, 'and the chat list preview follows');

    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, true)]);
    await page.getByTestId('typing-bubble').waitFor({ timeout: 2000 });
    await chatRow('chat-maria').getByTestId('chat-typing').waitFor({ timeout: 2000 });
    await L.deliverAll(engine.webhookUrl, [L.typing('chat-maria', MARIA_HANDLES, false)]);
    await page.getByTestId('typing-bubble').waitFor({ state: 'detached', timeout: 2000 });
    assert.equal(await chatRow('chat-maria').getByTestId('chat-typing').count(), 0, 'the list’s dots clear too');

    await L.deliverAll(engine.webhookUrl, [L.reaction({ id: 'r-2', chat: 'chat-maria', messageId: 'm-4', messageText: 'Sounds good, talk then.', reaction: 'like', from: MARIA, handles: MARIA_HANDLES })]);
    await bubble('m-4').locator('[data-reaction="like"]').waitFor({ timeout: 2000 });
    assert.equal(await page.locator('[data-reaction="like"]').count(), 1, 'the like lands on m-4 only');

    await L.deliverAll(engine.webhookUrl, [
      L.message({ id: 'm-7', chat: 'chat-maria', text: 'Sending the deck now', from: L.ME, handles: MARIA_HANDLES }),
      L.read('chat-maria', 'm-7'),
    ]);
    await bubble('m-7').getByTestId('read-receipt').waitFor({ timeout: 2000 });
    assert.equal(await page.getByTestId('read-receipt').count(), 1, 'the receipt moved to the newest read message');
  });

  it('Opening a chat while the window has focus marks it read', async () => {
    await go('#/chats');
    await chatRow('chat-koji2').locator('[aria-label$="unread"]').waitFor();
    await chatRow('chat-koji2').click();
    await bubble('k-1').waitFor();
    assert.equal(await page.getByRole('separator', { name: 'New messages' }).count(), 1, 'a "new messages" line marks where unread begins');
    await eventually(async () => (await chatRow('chat-koji2').locator('[aria-label$="unread"]').count()) === 0, 'badge cleared');
    const server = await eventually(async () => {
      const c = await engine.api('/api/chats/chat-koji2');
      return c.unread_count === 0 ? c : null;
    }, 'the engine to count the chat read');
    assert.equal(server.unread_count, 0);
    assert.match(await bubble('k-1').innerText(), /SMS/u, 'an SMS says so');
  });

  it('Calls: direction, missed and voicemail marked; detail with summary, transcript and player', async () => {
    await go('#/calls');
    await page.locator('a[data-call-id]').first().waitFor();
    assert.equal(await page.locator('a[data-call-id]').count(), 3);
    const missed = page.locator('a[data-call-id="call-2"]');
    assert.match(await missed.innerText(), /Missed · voicemail/u);
    assert.ok(await missed.evaluate((el) => el.classList.contains('missed')), 'missed calls are marked');
    assert.match(await page.locator('a[data-call-id="call-3"]').innerText(), /Outgoing · 2 min/u);
    await page.locator('a[data-call-id="call-1"]').click();
    const transcript = page.getByTestId('call-transcript');
    await transcript.waitFor();
    assert.match(await transcript.innerText(), /renewal terms for next quarter/u);
    assert.match(await page.getByTestId('call-summary').innerText(), /confirm the renewal terms/u);
    assert.equal(await page.locator('audio').getAttribute('src'), 'https://storage.example.test/recordings/call-1.mp3');
    assert.match(await page.locator('.facts').innerText(), /5 min 30 s/u);
  });

  it('Contacts with their details', async () => {
    await go('#/contacts');
    await page.locator('a[data-contact-id]').first().waitFor();
    const names = await page.locator('a[data-contact-id] .name').allInnerTexts();
    assert.deepEqual(names, ['Koji Tanaka', 'María López', 'Priya Raman'], 'sorted by name');
    await page.locator('a[data-contact-id="101"]').click();
    const facts = await page.locator('.facts').innerText();
    for (const f of ['maria@acme.test', 'Acme Corp', 'VP Sales', MARIA.identifier, 'Jane Owner']) assert.ok(facts.includes(f), `shows ${f}`);
  });

  it('Search with "/" groups results and opens the message highlighted', async () => {
    await go('#/activity');
    await page.locator('body').click({ position: { x: 600, y: 10 } });
    await page.keyboard.press('/');
    const input = page.getByLabel('Search messages, calls and contacts');
    await input.waitFor();
    await input.fill('tomor');
    const hit = page.locator('.hit[data-kind="message"][data-id="m-3"]');
    await hit.waitFor({ timeout: 3000 });
    assert.match(await hit.locator('mark').first().innerText(), /^tomor/iu, 'the matched word is marked');
    await input.fill('renewal');
    await page.locator('[role="group"][aria-label="Calls"] .hit').first().waitFor({ timeout: 3000 });
    await input.fill('tomorrow');
    await hit.waitFor();
    await page.keyboard.press('Enter');
    await page.locator('[data-message-id="m-3"].highlighted').waitFor({ timeout: 2000 });
    await page.keyboard.press('Control+k');
    await input.waitFor();
    await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden' });
  });

  it('Events: log with filters, JSON viewer, signature form, refused deliveries, copy as curl', async () => {
    const status = await L.deliver(engine.webhookUrl, L.message({ id: 'bad', chat: 'x', text: 'x', from: MARIA, handles: MARIA_HANDLES }), { secret: 'wrong-secret' });
    assert.equal(status, 401, 'a wrong signature is refused');
    await go('#/events');
    await page.locator('a[data-seq]').first().waitFor();
    await page.getByLabel('Event type').selectOption('call.completed');
    await eventually(async () => (await page.locator('a[data-seq]').count()) === 3, 'three call events');
    await page.locator('a[data-seq]').first().click();
    await page.getByTestId('signature-form').waitFor();
    assert.equal(await page.getByTestId('signature-form').innerText(), 'raw');
    assert.match(await page.locator('.json').innerText(), /recording_data/u, 'the payload is shown');
    await page.getByRole('button', { name: 'Copy as curl' }).click();
    const curl = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(curl, /curl -sS -X POST 'http:\/\/127\.0\.0\.1:\d+\/webhooks\/linq'/u);
    assert.match(curl, /call\.completed/u);
    await page.getByLabel('Event type').selectOption('');
    await page.getByRole('tab', { name: /Refused/u }).click();
    const refused = page.locator('[data-rejected-id]').first();
    await refused.waitFor({ timeout: 5000 });
    assert.match(await refused.innerText(), /401/u);
    assert.match(await refused.innerText(), /signature/iu, 'the reason says what went wrong');
  });

  it('Setup: webhook URL, hidden secret with reveal, last delivery, counts', async () => {
    await go('#/setup');
    await page.getByTestId('webhook-url').waitFor();
    assert.equal(await page.getByTestId('webhook-url').innerText(), engine.webhookUrl);
    assert.doesNotMatch(await page.getByTestId('secret').innerText(), new RegExp(L.SECRET), 'the secret starts hidden');
    await page.getByRole('button', { name: 'Reveal' }).click();
    await eventually(async () => (await page.getByTestId('secret').innerText()) === L.SECRET, 'revealed secret');
    await page.getByRole('button', { name: 'Hide' }).click();
    assert.match(await page.getByTestId('last-delivery').innerText(), /Last delivery/u);
    const counts = await engine.api('/api/status');
    assert.equal(await page.locator('[data-count="contacts"]').innerText(), String(counts.db.counts.contacts));
    assert.ok(Number(await page.locator('[data-count="rejected"]').innerText()) >= 1, 'the refused delivery is counted');
  });

  it('Settings: notifications, mute, do-not-disturb, previews, theme', async () => {
    await go('#/settings');
    const reactions = page.getByLabel('Reactions');
    await reactions.waitFor();
    const before = await reactions.isChecked();
    await reactions.click();
    await eventually(async () => (await engine.api('/api/settings')).notify.reaction === !before, 'notify.reaction saved');
    await reactions.click();
    await page.getByLabel('Silence all notifications').check();
    await eventually(async () => (await engine.api('/api/settings')).do_not_disturb === true, 'DND saved');
    await page.getByLabel('Silence all notifications').uncheck();
    await page.getByLabel('Dark').check();
    await eventually(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'dark theme applied');
    assert.equal((await engine.api('/api/settings')).theme, 'dark');
    await page.getByLabel('Match system').check();
    await eventually(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === undefined, 'system theme');

    await go('#/chats/chat-group');
    await page.getByRole('button', { name: 'Mute' }).click();
    await chatRow('chat-group').getByRole('img', { name: 'Muted' }).waitFor();
    await go('#/settings');
    await page.getByRole('button', { name: 'Unmute' }).click();
    await eventually(async () => (await engine.api('/api/settings')).muted_chats.length === 0, 'unmuted');
  });

  it('Keyboard: j/k and arrows move through chats, Enter opens, Esc goes back', async () => {
    await go('#/chats');
    await chatRow('chat-maria').waitFor();
    // A section change puts focus on its heading a frame later (lib/focus.ts). Wait for that, or
    // it can land after the keys below and take focus from the row they moved to.
    await eventually(async () => page.evaluate(() => document.activeElement?.tagName === 'H1'), 'focus on the Chats heading');
    await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement)?.blur());
    await page.keyboard.press('j');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-chat-id')), 'chat-maria');
    await page.keyboard.press('j');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('k');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-chat-id')), 'chat-hostile');
    await page.keyboard.press('Enter');
    await eventually(async () => page.url().endsWith('#/chats/chat-hostile'), 'Enter opened the chat');
    // The URL changes before the app has routed to it; Esc means "back" once the thread shows.
    await page.locator('section.thread').waitFor();
    await page.keyboard.press('Escape');
    await eventually(async () => page.url().endsWith('#/chats'), 'Esc went back');
    // Focus goes back to the row once the list has routed and rendered (a tick after the URL).
    await eventually(async () => (await chatRow('chat-hostile').evaluate((el) => getComputedStyle(el).outlineStyle)) === 'solid',
      'focus is back on the chat that was open, and visible');
  });

  it('Hostile text stays text and fires nothing', async () => {
    await go('#/chats/chat-hostile');
    await bubble('h-att').waitFor();
    assert.match(await bubble('h-att').innerText(), /<b>evil<\/b>\.png/u, 'a hostile file name is text');
    assert.equal(await bubble('h-att').locator('img').count(), 0, 'no inline preview for javascript: or http: images');
    assert.equal(await bubble('h-att').locator('a').count(), 0, 'no link to a javascript: or plain http: address');
    await eventually(async () => (await bubble('h-att').locator('[data-testid="attachment-error"]').count()) === 2, 'both are refused');
    assert.deepEqual(await bubble('h-att').locator('[data-testid="attachment-error"]').allInnerTexts(), [
      'Not kept: The app does not download javascript: addresses; only https:// ones are fetched.',
      'Not kept: The app does not download from http://insecure.example.test: only https:// addresses (and Linq\'s API host) are fetched.',
    ], 'the refusals are sentences');
    // The thread is windowed: go to its top for the short messages.
    await page.evaluate(() => { /** @type {HTMLElement} */ (document.querySelector('.viewport')).scrollTop = 0; });
    for (let i = 0; i < HOSTILE_TEXTS.length - 1; i++) {
      const expected = /** @type {string} */ (HOSTILE_TEXTS[i]);
      await bubble(`h-${i}`).waitFor({ timeout: 2000 });
      const shown = await bubble(`h-${i}`).locator('.body').textContent();
      assert.equal(shown, expected, `message h-${i} is shown verbatim`);
    }
    assert.equal(await page.locator('.thread script').count(), 0, 'no script element from data');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no img element from data');
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, 'no javascript: link');
    const links = await bubble('h-2').locator('a').evaluateAll((els) => els.map((a) => [a.getAttribute('href'), a.getAttribute('rel'), a.getAttribute('target')]));
    assert.deepEqual(links, [['https://example.com/safe', 'noopener noreferrer', '_blank']], 'only the https URL is a link');
    const rlo = await bubble('h-3').locator('.body').evaluate((el) => getComputedStyle(el).unicodeBidi);
    assert.equal(rlo, 'isolate', 'a right-to-left override cannot leak out of its bubble');
    assert.match(await page.locator('.thread h2').innerText(), /<img src=x onerror=alert\(9\)>/u, 'a hostile name is text');
    // The 10,000-character message sits near the bottom.
    await page.evaluate(() => { const v = /** @type {HTMLElement} */ (document.querySelector('.viewport')); v.scrollTop = v.scrollHeight; });
    const long = bubble('h-5');
    await long.waitFor({ state: 'attached', timeout: 2000 });
    assert.equal((await long.locator('.body').textContent())?.length, LONG.length, 'the long message is whole');
    const box = await long.boundingBox();
    const width = await page.evaluate(() => document.querySelector('.thread')?.getBoundingClientRect().width ?? 0);
    assert.ok(box && box.width <= width, 'the long message wraps inside the thread');
    await go('#/activity');
    await page.getByRole('list', { name: 'Activity' }).waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no img element in Activity either');
    await go('#/events');
    await page.locator('a[data-seq]').first().waitFor();
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });

  it('Usable at 360 px: one pane at a time, back button, no sideways scroll', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await go('#/chats');
    await chatRow('chat-maria').waitFor();
    assert.equal(await page.locator('.detail-pane').isVisible(), false, 'only the list shows');
    await chatRow('chat-maria').click();
    await bubble('m-7').waitFor();
    assert.equal(await page.locator('.list-pane').isVisible(), false, 'only the thread shows');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 360, `no horizontal overflow (${overflow})`);
    await page.getByRole('link', { name: 'Back to chats' }).click();
    await chatRow('chat-maria').waitFor();
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('Screenshots of every screen, light and dark', async () => {
    const screens = [
      ['activity', '#/activity'],
      ['chats', '#/chats'],
      ['thread', '#/chats/chat-maria'],
      ['group', '#/chats/chat-group'],
      ['hostile', '#/chats/chat-hostile'],
      ['calls', '#/calls/call-1'],
      ['contacts', '#/contacts/101'],
      ['events', '#/events'],
      ['refused', '#/events/rejected'],
      ['setup', '#/setup'],
      ['settings', '#/settings'],
    ];
    for (const scheme of /** @type {const} */ (['light', 'dark'])) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, hash] of screens) {
        await go(/** @type {string} */ (hash));
        await page.waitForTimeout(150);
        await shot(page, `${name}-${scheme}`);
      }
      await go('#/activity');
      await page.keyboard.press('/');
      await page.getByLabel('Search messages, calls and contacts').fill('tomorrow');
      await page.locator('.hit').first().waitFor();
      await shot(page, `search-${scheme}`);
      await page.keyboard.press('Escape');
      await page.setViewportSize({ width: 360, height: 740 });
      await go('#/chats/chat-group');
      await page.waitForTimeout(150);
      await shot(page, `narrow-thread-${scheme}`);
      await go('#/chats');
      await page.waitForTimeout(100);
      await shot(page, `narrow-chats-${scheme}`);
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(browser.errors.filter((e) => !/Failed to load resource|ERR_NAME_NOT_RESOLVED|net::/u.test(e)), [], 'no page errors');
  });
});
