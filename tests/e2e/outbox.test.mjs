// @ts-check
// Answering from the inbox (issue 20) in the browser, against the real engine pointed at a fake
// Linq v3 REST API: the notification's route opens the thread with the composer focused, Enter
// sends (Shift+Enter breaks the line), the bubble moves sending → sent → delivered (Linq's
// signed webhook), a reply to a quoted message carries reply_to, a draft survives a reload, an
// opted-out recipient fails with Linq's sentence and Retry sends it once allowed, typing reaches
// Linq, and every state passes axe. Measures Enter → bubble and Enter → Linq over 20 sends.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ARTIFACTS, launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { useTeardown } from './lib/fake-linq.mjs';
import { CHAT, fakeLinqSend, LINQ_TOKEN, ownMessageWebhook, QUESTION } from './lib/linq-send.mjs';
import { eventually } from './lib/wait.mjs';

/** @typedef {import('playwright-core').Page} Page */

/** The rep's own bubble whose text contains `text`. */
const own = (/** @type {Page} */ page, /** @type {string} */ text) => page.locator('.msg[data-client-id]', { hasText: text });

/** Records, in the page, when Enter went down in the composer and when a bubble with the text appeared. */
async function watchSend(/** @type {Page} */ page, /** @type {string} */ text) {
  await page.evaluate((t) => {
    const w = /** @type {any} */ (window);
    w.__send = { enter: 0, bubble: 0 };
    const field = /** @type {HTMLElement} */ (document.getElementById('composer'));
    field.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) w.__send.enter = performance.now();
    }, { capture: true, once: true });
    const seen = () => [...document.querySelectorAll('.msg[data-client-id]')].some((el) => el.textContent?.includes(t));
    const obs = new MutationObserver(() => {
      if (w.__send.enter && !w.__send.bubble && seen()) {
        w.__send.bubble = performance.now();
        obs.disconnect();
      }
    });
    obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  }, text);
}

/** Enter → bubble (ms, in the page), and the wall-clock time Enter went down. */
async function sendTimes(/** @type {Page} */ page) {
  return page.evaluate(() => {
    const s = /** @type {any} */ (window).__send;
    return { toBubble: s.bubble - s.enter, enterWall: performance.timeOrigin + s.enter };
  });
}

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? /** @type {number} */ (s[m]) : (/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2;
};

describe('Answering from the inbox', () => {
  const session = useTeardown();

  it('types, sends, replies to a quote, keeps a draft, retries a refusal, and is quick', async () => {
    const fake = (session.fake = await fakeLinqSend());
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_API_VERSION: 'v3', LINQ_INTEGRATION_TOKEN: LINQ_TOKEN, LINQ_INBOX_SYNC_RATE: '0' } }));
    const browser = (session.browser = await launch());
    const page = browser.page;
    await page.goto(engine.loginUrl);

    // The catch-up pass at start brings the chat; then the notification's Reply action lands
    // here: the thread, the composer focused.
    await page.evaluate(() => (location.hash = '#/chats'));
    await page.getByRole('navigation', { name: 'Chats' }).getByText(QUESTION.text).waitFor({ timeout: 15_000 });
    await page.evaluate((c) => (location.hash = `#/chats/${c}/reply`), CHAT);
    const main = page.getByRole('main');
    await main.getByText(QUESTION.text).waitFor({ timeout: 15_000 });
    const composer = page.locator('#composer');
    await eventually(async () => (await page.evaluate(() => document.activeElement?.id)) === 'composer', 'the composer has the focus');
    assert.equal(await page.getByLabel(/Message to/u).getAttribute('id'), 'composer', 'the field is labelled');

    // Shift+Enter breaks the line; Enter sends. Linq holds its answer a moment: `sending` shows.
    fake.control.holdMs = 1500;
    await composer.pressSequentially('Friday works');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('10am?');
    assert.equal(await composer.inputValue(), 'Friday works\n10am?', 'Shift+Enter made a new line, nothing was sent');
    assert.equal(fake.sends().length, 0, 'nothing sent yet');
    await composer.press('Enter');
    const first = own(page, 'Friday works');
    await first.getByText('Sending…').waitFor({ timeout: 1000 });
    assert.equal(await composer.inputValue(), '', 'the field is empty for the next reply');
    await shot(page, 'outbox-sending');
    await first.getByText('Sent', { exact: true }).waitFor({ timeout: 10_000 });
    fake.control.holdMs = 0;
    assert.equal(await first.count(), 1, 'one bubble for the reply');
    assert.equal(fake.sends().length, 1, 'one POST to Linq');
    const sent = fake.sends()[0];
    assert.equal(sent?.body.message.parts[0].value, 'Friday works\n10am?', 'the line break reached Linq');
    const linqId = /** @type {{id: string}} */ (fake.byKey.get(sent?.body.message.idempotency_key)).id;
    assert.ok(await first.getAttribute('data-client-id'), 'the bubble carries its client id');
    assert.equal(sent?.body.message.idempotency_key, await first.getAttribute('data-client-id'), 'the key Linq got is the client id');

    // Linq's webhooks about the same message move the same bubble to delivered.
    for (const type of ['message.sent', 'message.delivered']) {
      assert.equal(await L.deliver(engine.webhookUrl, ownMessageWebhook(type, linqId, 'Friday works\n10am?')), 200, `${type} accepted`);
    }
    await eventually(async () => (await first.getAttribute('data-status')) === 'delivered', 'the bubble is delivered', 10_000);
    await first.getByTestId('delivery').getByText(/Delivered/u).waitFor();
    assert.equal(await page.locator('.msg[data-direction="outbound"]', { hasText: 'Friday works' }).count(), 1, 'the webhook\'s copy is the same bubble');
    await shot(page, 'outbox-delivered');

    // Typing reached Linq while the rep typed in this one-to-one iMessage chat.
    await eventually(() => fake.seen.some((s) => s.method === 'POST' && s.path === `/api/partner/v3/chats/${CHAT}/typing`), 'a typing start reached Linq');

    // Reply to the quoted question: the quote above the field, then in the sent bubble.
    const question = page.locator(`[data-message-id="${QUESTION.id}"]`);
    await question.hover();
    await question.getByRole('button', { name: /Reply to .*message/u }).click();
    const quote = page.getByTestId('composer-quote');
    await quote.getByText(QUESTION.text).waitFor();
    await shot(page, 'outbox-quoting');
    await composer.pressSequentially('Yes, Friday at 10');
    await composer.press('Enter');
    const answer = own(page, 'Yes, Friday at 10');
    await answer.getByText('Sent', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await quote.count(), 0, 'the quote left the composer with the reply');
    assert.match(await answer.getByTestId('reply-to').innerText(), /can we move the demo/u, 'the sent bubble quotes the question');
    assert.deepEqual(fake.sends().at(-1)?.body.message.reply_to, { message_id: QUESTION.id }, 'reply_to went to Linq');

    // Attach a file: kept by the engine, shown from its local copy, pre-uploaded and named by its
    // attachment_id at Linq.
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    await page.locator('input[type="file"]').setInputFiles({ name: 'Q3 plan.pdf', mimeType: 'application/pdf', buffer: pdf });
    await page.getByTestId('composer-file').getByText('Q3 plan.pdf').waitFor();
    await shot(page, 'outbox-attached');
    await composer.focus();
    await composer.press('Enter');
    const withFile = page.locator('.msg[data-client-id]', { hasText: 'Q3 plan.pdf' });
    await withFile.getByText('Sent', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('composer-file').count(), 0, 'the file left the composer with the reply');
    assert.equal(fake.created.length, 1, 'one pre-upload');
    assert.deepEqual(fake.created[0]?.request, { filename: 'Q3 plan.pdf', content_type: 'application/pdf', size_bytes: pdf.length }, 'the pre-upload names the file');
    const put = fake.received.get(/** @type {string} */ (fake.created[0]?.id));
    assert.ok(put && put.bytes.equals(pdf), 'the exact bytes were PUT to the upload URL');
    assert.deepEqual(fake.sends().at(-1)?.body.message.parts, [{ type: 'media', attachment_id: fake.created[0]?.id }], 'the send names the file by its attachment_id');
    const link = withFile.locator('a[href^="/api/attachments/upload-"]').first();
    assert.equal(await link.count(), 1, 'the bubble links the engine\'s local copy');

    // A draft survives a reload.
    await composer.pressSequentially('half a thought');
    await eventually(() => fake && engine && fetch(`${engine.uiBase}/api/chats/${CHAT}/draft`, { headers: { Authorization: `Bearer ${L.TOKEN}` } })
      .then((r) => (r.ok ? r.json() : null)).then((d) => d?.text === 'half a thought'), 'the draft is saved', 5000);
    await page.reload();
    await main.locator(`[data-message-id="${QUESTION.id}"]`).waitFor({ timeout: 15_000 });
    await eventually(async () => (await composer.inputValue()) === 'half a thought', 'the draft is back after the reload');
    await composer.fill('');
    await composer.dispatchEvent('input');

    // An opted-out recipient: failed with Linq's sentence, then Retry once Linq allows it.
    fake.control.optedOut = true;
    await composer.focus();
    await composer.pressSequentially('Are you still there?');
    await composer.press('Enter');
    const refused = own(page, 'Are you still there?');
    await eventually(async () => (await refused.getAttribute('data-status')) === 'failed', 'the reply failed', 10_000);
    assert.match(await refused.getByTestId('own-status').innerText(), /opted out/iu, 'Linq\'s reason in a sentence');
    await shot(page, 'outbox-failed');
    const before = fake.sends().length;
    fake.control.optedOut = false;
    await refused.getByRole('button', { name: 'Retry' }).click();
    await refused.getByText('Sent', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(fake.sends().length, before + 1, 'Retry sent it once more');
    assert.equal(await refused.count(), 1, 'still one bubble');

    // Measured: Enter → bubble on screen (in the page), Enter → the request at Linq (wall clock).
    /** @type {number[]} */
    const toBubble = [];
    /** @type {number[]} */
    const toLinq = [];
    for (let i = 1; i <= 20; i++) {
      const text = `Timing ${i} of 20`;
      await watchSend(page, text);
      await composer.fill(text);
      await composer.press('Enter');
      await own(page, text).waitFor();
      const t = await sendTimes(page);
      const req = await eventually(() => fake.sends().find((s) => s.body.message.parts[0].value === text), `send ${i} at Linq`);
      toBubble.push(t.toBubble);
      toLinq.push(req.at - t.enterWall);
    }
    const report = {
      sends: toBubble.length,
      enter_to_bubble_ms: { median: median(toBubble), max: Math.max(...toBubble) },
      enter_to_linq_ms: { median: median(toLinq), max: Math.max(...toLinq) },
    };
    writeFileSync(join(ARTIFACTS, 'outbox-timing.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`outbox timing: ${JSON.stringify(report)}`);
    assert.ok(report.enter_to_bubble_ms.median < 1000, `the bubble shows within a second of Enter: ${JSON.stringify(report)}`);
    assert.equal(new Set(fake.sends().map((s) => s.body.message.idempotency_key)).size, fake.sends().length - 1,
      'every reply had its own key (only the retried one went twice)');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
