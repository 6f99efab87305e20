// @ts-check
// Catching up (issue 19) in the browser: messages only Linq's REST API knows (their webhooks
// never came) reach the inbox through a catch-up pass, the Activity screen marks them as caught
// up, the thread shows them with a photo from the engine's own copy of it (Linq's file server
// is the fake; the engine keeps the bytes), and the Setup screen runs a pass on demand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { LINQ_TOKEN, startFakeLinq, useTeardown } from './lib/fake-linq.mjs';
import { png } from './lib/png.mjs';
import { eventually } from './lib/wait.mjs';

const LINE = '+14155550100';
const ANN = '+14155550101';

const ago = (/** @type {number} */ minutes) => new Date(Date.now() - minutes * 60_000).toISOString();
const handle = (/** @type {string} */ h, /** @type {boolean} */ me) => ({ id: `h-${h}`, handle: h, is_me: me, service: 'iMessage', joined_at: ago(9000) });
const PHOTO = png(120, 80, [200, 90, 40]);
const message = (/** @type {string} */ id, /** @type {string} */ from, /** @type {number} */ minutes, /** @type {string} */ text, /** @type {any[]} */ media = []) => ({
  id, chat_id: 'c-ann', created_at: ago(minutes), updated_at: ago(minutes), is_from_me: from === LINE,
  delivery_status: from === LINE ? 'delivered' : 'received', is_delivered: from === LINE, is_read: false,
  sent_at: ago(minutes), delivered_at: null, read_at: null, from_handle: handle(from, from === LINE), service: 'iMessage',
  parts: [{ type: 'text', value: text, reactions: [] }, ...media],
});

/** A fake Linq v3 account: one chat, listed with cursors, and the photo on its file server. */
async function fakeLinq() {
  const chat = { id: 'c-ann', created_at: ago(9000), updated_at: ago(1), is_group: false, display_name: ANN,
    handles: [handle(LINE, true), handle(ANN, false)], service: 'iMessage', is_archived: false,
    health_status: { status: 'HEALTHY', doc_url: 'https://docs', updated_at: ago(1) } };
  /** @type {string} */
  let base = '';
  const messages = () => [
    message('m-away-2', ANN, 20, 'Are we still on for Friday?'),
    message('m-away-1', ANN, 40, 'Hi, it is Ann from Northwind', [
      { type: 'media', id: 'att-storefront', filename: 'storefront.png', mime_type: 'image/png', size_bytes: PHOTO.length,
        url: `${base}/files/storefront.png?X-Amz-Signature=abc`, reactions: [] },
    ]),
  ];
  const fake = await startFakeLinq({
    files: { '/files/storefront.png': PHOTO },
    routes: {
      'GET /api/partner/v3/chats': () => [200, { chats: [chat], next_cursor: null }],
      'GET /api/partner/v3/chats/c-ann/messages': () => [200, { messages: messages(), next_cursor: null }],
    },
  });
  base = fake.base;
  return fake;
}

describe('Catch up with Linq', () => {
  const session = useTeardown();

  it('fetched messages show as caught up, in their thread, and a pass runs from Setup', async () => {
    const fake = (session.fake = await fakeLinq());
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_INTEGRATION_TOKEN: LINQ_TOKEN, LINQ_INBOX_SYNC_RATE: '0' } }));
    const browser = (session.browser = await launch());
    const page = browser.page;
    await page.goto(engine.loginUrl);

    await page.evaluate(() => (location.hash = '#/activity'));
    const caught = page.locator('.entry', { hasText: 'Are we still on for Friday?' });
    await caught.waitFor();
    assert.equal(await caught.locator('.caught-up').innerText(), 'caught up', 'the pass at start fetched it: marked caught up');

    await caught.click();
    const thread = page.getByRole('main');
    await thread.getByText('Hi, it is Ann from Northwind').waitFor();
    await thread.getByText('Are we still on for Friday?').waitFor();
    const img = thread.locator('[data-testid="attachment-image"]');
    await img.waitFor({ timeout: 15_000 });
    assert.equal(await img.getAttribute('src'), '/api/attachments/att-storefront', 'the photo of a caught-up message is the engine\'s own copy');
    await eventually(async () => (await img.evaluate((el) => /** @type {HTMLImageElement} */ (el).naturalWidth)) === 120,
      'the kept copy loads under the page\'s policy and is the photo Linq listed');
    assert.equal(fake.calls().filter((s) => s.startsWith('GET /files/storefront.png')).length, 1, 'downloaded once, by the engine');
    await shot(page, 'catch-up-thread');

    await page.evaluate(() => (location.hash = '#/setup'));
    const card = page.getByTestId('catch-up');
    await card.getByText(/Last catch-up .*: 2 fetched, 2 new/u).waitFor();
    const before = fake.calls().length;
    await card.getByRole('button', { name: 'Catch up now' }).click();
    await card.getByText(/Last catch-up .*: 2 fetched, 0 new/u).waitFor();
    assert.ok(fake.calls().length > before, 'the button ran a pass against Linq');
    assert.ok(fake.calls().slice(before).every((s) => s.startsWith('GET /api/partner/v3/')), 'a pass only reads, and the kept photo is not fetched again');
    await shot(page, 'catch-up-setup');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
