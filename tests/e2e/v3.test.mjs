// @ts-check
// Linq API v3 in the browser: a chat that began as v2 continues as v3, and the thread shows what
// only v3 says: "Delivered", "Not delivered" with the reason, "Edited", the message a reply
// answers, a custom-emoji reaction (and not a removed one), location sharing as a system line;
// the status screen shows a flagged number.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { MARIA, MARIA_HANDLES } from './lib/seed.mjs';

/** Standard Webhooks headers (and the legacy pair) for `body`, keyed with the engine's secret. */
function v3Headers(/** @type {string} */ id, /** @type {string} */ body) {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', L.SECRET).update(`${id}.${ts}.${body}`).digest('base64');
  const legacy = createHmac('sha256', L.SECRET).update(`${ts}.${body}`).digest('hex');
  return {
    'Content-Type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${sig}`,
    'X-Webhook-Timestamp': ts,
    'X-Webhook-Signature': legacy,
  };
}

let n = 0;
async function deliverV3(/** @type {string} */ url, /** @type {string} */ type, /** @type {object} */ data, at = L.nextTime(30)) {
  n += 1;
  const body = JSON.stringify({
    api_version: 'v3', webhook_version: '2026-02-03', event_type: type, event_id: `v3-e2e-${n}`,
    created_at: at, trace_id: `t-${n}`, partner_id: 'p', data,
  });
  const res = await fetch(url, { method: 'POST', headers: v3Headers(`msg_e2e_${n}`, body), body });
  await res.arrayBuffer();
  assert.equal(res.status, 200, `${type} is accepted`);
}

const CHAT = 'chat-v3';
const handle = (/** @type {{identifier: string}} */ h, isMe = false) => ({ id: `h${h.identifier}`, handle: h.identifier, joined_at: '2026-11-01T00:00:00Z', service: 'iMessage', is_me: isMe });

function v3Message(/** @type {string} */ id, /** @type {boolean} */ outbound, /** @type {string} */ text, /** @type {string} */ at, replyTo = /** @type {object | null} */ (null)) {
  return {
    id, chat: { id: CHAT, health_status: 'healthy', is_group: false, owner_handle: handle(L.ME, true) },
    direction: outbound ? 'outbound' : 'inbound', parts: [{ type: 'text', value: text, text_decorations: null }],
    sender_handle: outbound ? handle(L.ME, true) : handle(MARIA), service: 'iMessage', sent_at: at,
    delivered_at: null, read_at: null, reply_to: replyTo,
  };
}

/** @type {Awaited<ReturnType<typeof L.startEngine>> | undefined} */
let engine;
/** @type {Awaited<ReturnType<typeof launch>> | undefined} */
let browser;

describe('Linq API v3', () => {
  after(async () => {
    await browser?.close();
    await engine?.stop();
    engine?.removeData();
  });

  it('shows delivery, failure, edits, replies, reactions and system lines of a v2-then-v3 chat', async () => {
    engine = await L.startEngine();
    const url = engine.webhookUrl;
    L.setClock(new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3600_000).toISOString());
    await L.deliverAll(url, [L.message({ id: 'v2-1', chat: CHAT, text: 'Started on v2', from: MARIA, handles: MARIA_HANDLES })]);

    let at = L.nextTime(60);
    await deliverV3(url, 'message.sent', v3Message('o-fail', true, 'Trying iMessage', at), at);
    await deliverV3(url, 'message.failed', { code: 4001, failed_at: L.nextTime(5), message_id: 'o-fail', chat_id: CHAT, reason: 'Recipient not on iMessage' });
    at = L.nextTime(60);
    await deliverV3(url, 'message.sent', v3Message('o-1', true, 'Quote attached', at), at);
    await deliverV3(url, 'message.delivered', { ...v3Message('o-1', true, 'Quote attached', at), delivered_at: L.nextTime(2) });
    await deliverV3(url, 'reaction.added', { is_from_me: false, reaction_type: 'custom', custom_emoji: '🦄', chat_id: CHAT, message_id: 'o-1', part_index: 0, reacted_at: L.nextTime(5), from_handle: handle(MARIA) });
    const love = { is_from_me: false, reaction_type: 'love', chat_id: CHAT, message_id: 'o-1', part_index: 0, from_handle: handle(MARIA) };
    await deliverV3(url, 'reaction.added', { ...love, reacted_at: L.nextTime(5) });
    await deliverV3(url, 'reaction.removed', { ...love, reacted_at: L.nextTime(5) });
    at = L.nextTime(60);
    await deliverV3(url, 'message.received', v3Message('i-1', false, 'Looks good, Wednesday?', at, { message_id: 'o-1', part_index: 0 }), at);
    await deliverV3(url, 'message.edited', { id: 'i-1', chat: { id: CHAT, health_status: 'healthy', is_group: false, owner_handle: null }, direction: 'inbound', edited_at: L.nextTime(10), part: { index: 0, text: 'Looks good, Thursday?' }, sender_handle: handle(MARIA) });
    await deliverV3(url, 'location.sharing.started', { shared_by: MARIA.identifier, shared_with: L.ME.identifier, began_at: L.nextTime(10), ends_at: null, chat_id: CHAT });
    await deliverV3(url, 'phone_number.status_updated', { phone_number: L.ME.identifier, changed_at: L.nextTime(10), previous_status: 'ACTIVE', new_status: 'FLAGGED', previous_reputation: 'HEALTHY', new_reputation: 'AT_RISK' });

    browser = await launch();
    const page = browser.page;
    await page.goto(engine.loginUrl);
    await page.evaluate((c) => (location.hash = `#/chats/${c}`), CHAT);
    await page.locator('[data-message-id="i-1"]').waitFor({ timeout: 10_000 });

    const failed = page.locator('[data-message-id="o-fail"] [data-testid="delivery-failed"]');
    assert.equal(await failed.innerText(), 'Not delivered: Recipient not on iMessage');
    const delivered = page.locator('[data-message-id="o-1"] [data-testid="delivery"]');
    assert.match(await delivered.innerText(), /^Delivered /u, 'the last outbound message is marked delivered');

    const reactions = await page.locator('[data-message-id="o-1"] .reactions').innerText();
    assert.ok(reactions.includes('🦄'), `the custom emoji shows: ${reactions}`);
    assert.ok(!reactions.includes('❤️'), 'the removed love is gone');

    const reply = page.locator('[data-message-id="i-1"] [data-testid="reply-to"]');
    assert.ok((await reply.innerText()).includes('Quote attached'), 'the reply quotes the message it answers');
    const edited = await page.locator('[data-message-id="i-1"]').innerText();
    assert.ok(edited.includes('Looks good, Thursday?') && edited.includes('Edited'), `edited text and mark: ${edited}`);
    assert.ok(!edited.includes('Wednesday'), 'the text before the edit is gone');

    const line = page.locator('[data-kind="location_started"]');
    assert.match(await line.innerText(), /started sharing their location/u);
    assert.equal(await page.locator('[data-message-id="v2-1"]').count(), 1, 'the v2 start of the chat is in the same thread');
    await shot(page, 'v3-thread');

    await page.evaluate(() => (location.hash = '#/setup'));
    const health = page.getByTestId('number-health');
    await health.waitFor({ timeout: 5000 });
    assert.ok((await health.innerText()).includes('Flagged · at risk'), 'the flagged number shows on the status screen');
    await shot(page, 'v3-number-health');
  });
});
