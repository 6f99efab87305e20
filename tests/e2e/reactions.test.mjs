// @ts-check
// Reactions and read marks from the inbox (issue 20 §4–5) in the browser, against the real engine
// pointed at a fake Linq v3 REST API that records every request: the rep reacts to a message
// from the bubble's picker and sees it at once, removes it by picking it again, and Linq gets
// exactly those calls; with "Send read receipts to Linq" off, opening a chat tells Linq nothing,
// with it on, opening an unread chat marks it read at Linq, and a mark Linq refuses is shown in
// the thread with a way to send it again. Every state is screenshotted and
// audited with axe.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { useTeardown } from './lib/fake-linq.mjs';
import { eventually } from './lib/wait.mjs';

const LINQ_TOKEN = 'lq_e2e_token_0123456789';
const LINE = '+14155550100';
const ANN = '+14155550101';
const BOB = '+14155550102';

const ago = (/** @type {number} */ minutes) => new Date(Date.now() - minutes * 60_000).toISOString();
const handle = (/** @type {string} */ h, /** @type {boolean} */ me) => ({ id: `h-${h}`, handle: h, is_me: me, service: 'iMessage', joined_at: ago(9000) });
const chat = (/** @type {string} */ id, /** @type {string} */ who) => ({ id, created_at: ago(9000), updated_at: ago(1), is_group: false,
  display_name: who, handles: [handle(LINE, true), handle(who, false)], service: 'iMessage', is_archived: false,
  health_status: { status: 'HEALTHY', doc_url: 'https://docs', updated_at: ago(1) } });
const inbound = (/** @type {string} */ id, /** @type {string} */ chatId, /** @type {string} */ from, /** @type {number} */ minutes, /** @type {string} */ text) => ({
  id, chat_id: chatId, created_at: ago(minutes), updated_at: ago(minutes), is_from_me: false, delivery_status: 'received',
  is_delivered: false, is_read: false, sent_at: ago(minutes), delivered_at: null, read_at: null, from_handle: handle(from, false),
  service: 'iMessage', parts: [{ type: 'text', value: text, reactions: [] }],
});

/** A fake Linq v3 account with Ann's and Bob's chats; records every request with its body. */
async function fakeLinq() {
  /** @type {{method: string, path: string, body: any}[]} */
  const seen = [];
  let readRefusals = 1;
  const chats = [chat('c-ann', ANN), chat('c-bob', BOB)];
  /** @type {Record<string, any[]>} */
  const messages = {
    'c-ann': [inbound('m-ask', 'c-ann', ANN, 5, 'can we move the demo to Friday?')],
    'c-bob': [inbound('m-bob', 'c-bob', BOB, 3, 'sending the contract tonight')],
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      seen.push({ method: req.method ?? '', path, body: raw ? JSON.parse(raw) : null });
      const send = (/** @type {number} */ status, /** @type {any} */ body) => {
        res.writeHead(status, body === null ? {} : { 'Content-Type': 'application/json' });
        res.end(body === null ? '' : JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${LINQ_TOKEN}`) return send(401, { success: false, error: { status: 401, code: 2004, message: 'Unauthorized' } });
      if (path === '/api/partner/v3/chats' && req.method === 'GET') return send(200, { chats, next_cursor: null });
      const list = path.match(/^\/api\/partner\/v3\/chats\/([^/]+)\/messages$/u);
      if (list && req.method === 'GET') return send(200, { messages: messages[list[1]] ?? [], next_cursor: null });
      if (/^\/api\/partner\/v3\/messages\/[^/]+\/reactions$/u.test(path) && req.method === 'POST') {
        return send(200, { message: 'Reaction processed', status: 'ok', trace_id: '0af7651916cd43dd8448eb211c80319c' });
      }
      if (/^\/api\/partner\/v3\/chats\/[^/]+\/read$/u.test(path) && req.method === 'POST') {
        // The first read mark is refused for good; the rep sends it again from the thread.
        if (readRefusals-- > 0) return send(400, { success: false, error: { status: 400, code: 1001, message: 'This chat belongs to another line' } });
        return send(204, null);
      }
      if (path === '/api/partner/v3/chats' && req.method === 'POST') {
        const body = JSON.parse(raw);
        return send(201, { chat: { id: 'c-sam', display_name: null, handles: [handle(body.from, true), handle(body.to[0], false)],
          health_status: { status: 'HEALTHY' }, is_group: false, service: 'iMessage',
          message: { id: 'm-first', created_at: ago(0), delivery_status: 'pending', is_read: false, parts: body.message.parts, sent_at: null, delivered_at: null } } });
      }
      return send(404, { success: false, error: { status: 404, code: 2001, message: 'Not found' } });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { base: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
}

describe('Reactions and read marks', () => {
  const session = useTeardown();

  it('reacts from the bubble, removes it, sends read marks only when the rep allows it, and starts a conversation', async () => {
    const fake = (session.fake = await fakeLinq());
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_INTEGRATION_TOKEN: LINQ_TOKEN, LINQ_INBOX_SYNC_RATE: '0' } }));
    const browser = (session.browser = await launch());
    const page = browser.page;
    const f = fake;
    const reactions = () => f.seen.filter((s) => s.path.endsWith('/reactions'));
    const reads = () => f.seen.filter((s) => s.path.endsWith('/read'));
    const e = engine;
    await eventually(async () => {
      const list = /** @type {{chats: {chat_id: string}[]}} */ (await e.api('/api/chats'));
      return list.chats.length === 2;
    }, 'the catch-up pass at start brought both chats', 15_000);
    await page.goto(engine.loginUrl);

    // Settings off (the default): opening Ann's unread chat tells Linq nothing.
    await page.evaluate(() => (location.hash = '#/chats/c-ann'));
    const thread = page.getByRole('main');
    const ask = thread.locator('[data-message-id="m-ask"]');
    await ask.getByText('can we move the demo to Friday?').waitFor({ timeout: 15_000 });
    await page.waitForTimeout(800);
    assert.deepEqual(reads(), [], 'with read receipts off, opening a chat sends no read mark');

    // React with Love from the bubble's picker, by keyboard.
    const react = ask.getByRole('button', { name: 'React to this message' });
    await react.focus();
    await page.keyboard.press('Enter');
    const picker = ask.getByRole('group', { name: 'Reactions' });
    await picker.waitFor();
    assert.equal(await picker.getByRole('button').count(), 6, 'the six tapbacks');
    const love = picker.getByRole('button', { name: 'Love' });
    await eventually(async () => (await love.evaluate((el) => el === document.activeElement)), 'focus moves into the picker');
    assert.equal(await love.getAttribute('aria-pressed'), 'false', 'not set yet');
    await shot(page, 'reactions-picker');
    await page.keyboard.press('Enter');
    const chip = ask.locator('.reaction[data-reaction="love"]');
    await chip.waitFor();
    assert.match(await chip.innerText(), /You/u, "shown at once as the rep's own");
    await eventually(() => reactions().length === 1, 'Linq got the reaction', 10_000);
    assert.deepEqual(reactions()[0], { method: 'POST', path: '/api/partner/v3/messages/m-ask/reactions', body: { operation: 'add', type: 'love' } },
      'one POST naming the tapback');
    await eventually(async () => (await chip.getAttribute('data-status')) === null, 'settled once Linq took it', 10_000);
    await eventually(async () => (await react.evaluate((el) => el === document.activeElement)), 'focus is back on the React button');
    await shot(page, 'reactions-added');

    // Picking Love again removes it.
    await react.click();
    assert.equal(await love.getAttribute('aria-pressed'), 'true', 'the picker shows it set');
    await love.click();
    await chip.waitFor({ state: 'detached' });
    await eventually(() => reactions().length === 2, 'Linq got the removal', 10_000);
    assert.deepEqual(reactions()[1].body, { operation: 'remove', type: 'love' }, 'the removal names the same tapback');
    await page.waitForTimeout(300);
    assert.equal(reactions().length, 2, 'one request per pick');
    await shot(page, 'reactions-removed');

    // Turn read receipts on; opening Bob's unread chat marks it read at Linq.
    await page.evaluate(() => (location.hash = '#/settings'));
    const toggle = page.getByRole('checkbox', { name: 'Send read receipts to Linq' });
    assert.equal(await toggle.isChecked(), false, 'off by default');
    await toggle.check();
    await page.getByText('Saved').waitFor();
    await shot(page, 'reactions-settings-read-receipts');
    assert.deepEqual(reads(), [], 'turning it on sends nothing by itself');
    await page.evaluate(() => (location.hash = '#/chats/c-bob'));
    await thread.getByText('sending the contract tonight').waitFor();
    await eventually(() => reads().length === 1, 'Linq got the read mark', 10_000);
    assert.deepEqual(reads()[0], { method: 'POST', path: '/api/partner/v3/chats/c-bob/read', body: null }, "v3's read call for Bob's chat");
    // Linq refused that mark: the thread says so in Linq's words, and sending it again works.
    const refusal = thread.getByTestId('read-mark-error');
    await refusal.waitFor({ timeout: 10_000 });
    assert.match(await refusal.innerText(), /The read receipt was not sent: .*This chat belongs to another line/su, "Linq's sentence");
    await shot(page, 'read-mark-refused');
    await refusal.getByRole('button', { name: 'Send it again' }).click();
    await eventually(() => reads().length === 2, 'the mark went again', 10_000);
    await refusal.waitFor({ state: 'detached', timeout: 10_000 });
    // A new conversation: a wrong number is explained, a right one opens the thread, `sending`
    // then sent in Linq's chat.
    await page.evaluate(() => (location.hash = '#/chats'));
    await page.getByRole('button', { name: 'New message' }).click();
    const dialog = page.getByRole('dialog', { name: 'New message' });
    await dialog.waitFor();
    await dialog.getByLabel('To').fill('415 555 0199');
    await dialog.getByLabel('Message').fill('Hi Sam, it is Lee from Acme');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.getByRole('alert').getByText('Start with + and the country code').waitFor();
    assert.equal(await dialog.getByLabel('To').getAttribute('aria-invalid'), 'true', 'the field says it is wrong');
    await shot(page, 'new-chat-invalid-number');
    await dialog.getByLabel('To').fill('+1 415 555 0199');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await thread.getByText('Hi Sam, it is Lee from Acme').waitFor();
    const creations = () => f.seen.filter((s) => s.method === 'POST' && s.path === '/api/partner/v3/chats');
    await eventually(() => creations().length === 1, 'Linq was asked to create the chat', 10_000);
    const created = creations()[0].body;
    assert.equal(created.from, LINE, 'from the line');
    assert.deepEqual(created.to, ['+14155550199'], 'to the number, in international form');
    assert.deepEqual(created.message.parts, [{ type: 'text', value: 'Hi Sam, it is Lee from Acme' }], 'the first message');
    assert.match(created.message.idempotency_key, /^[0-9a-f-]{36}$/u, 'with its client key');
    await eventually(() => page.url().endsWith('#/chats/c-sam'), "the thread follows the chat to Linq's id", 10_000);
    await thread.getByText('Hi Sam, it is Lee from Acme').waitFor();
    const e2 = engine;
    const list = /** @type {{chats: {chat_id: string}[]}} */ (await e2.api('/api/chats'));
    assert.deepEqual(list.chats.map((c) => c.chat_id).sort(), ['c-ann', 'c-bob', 'c-sam'], 'one row for the new chat, no provisional one left');
    await shot(page, 'new-chat-thread');

    // (The fake serves no line listing, so Settings' /api/linq/lines answers 502: a resource error, not a script one.)
    assert.deepEqual(browser.errors.filter((e) => !e.startsWith('Failed to load resource')), [], 'no script errors');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
