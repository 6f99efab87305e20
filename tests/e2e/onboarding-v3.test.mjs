// @ts-check
// First run, timed: from an empty data folder to the first message on screen, with only the app,
// a Linq token, and a tunnel program on PATH (tests/fixtures/tunnel/cloudflared, a stand-in that
// prints its address the way cloudflared does and forwards through a local proxy). Linq is the
// v3 fake (lib/fake-linq.mjs), which delivers the message signed with the secret it issued.
// Prints the seconds and the clicks it took (goal: under two minutes, under ten clicks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { LINQ_TOKEN, fakeLinqV3, useTeardown } from './lib/fake-linq.mjs';

const STAND_IN = new URL('../fixtures/tunnel/', import.meta.url).pathname;

describe('First run through v3 and the app\'s own tunnel', () => {
  const session = useTeardown();

  it('reaches the first message in under two minutes and ten clicks', async () => {
    const fake = (session.fake = await fakeLinqV3());
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_WEBHOOK_SECRET: '', LINQ_INTEGRATION_TOKEN: '', LINQ_INBOX_KEYRING: 'off', PATH: `${STAND_IN}:${process.env.PATH ?? ''}` } }));
    const browser = (session.browser = await launch());
    const page = browser.page;
    let clicks = 0;
    const click = async (/** @type {import('playwright-core').Locator} */ target) => {
      clicks += 1;
      await target.click();
    };
    const started = Date.now();
    await page.goto(engine.loginUrl);

    await click(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Settings' }));
    await page.getByRole('heading', { name: 'Connect to Linq' }).waitFor();
    await page.getByLabel('Linq integration token').fill(LINQ_TOKEN);
    await click(page.getByRole('button', { name: 'Save token' }));
    await page.getByTestId('linq-token-masked').waitFor();
    await click(page.getByRole('button', { name: 'Start a tunnel for me' }));
    await page.getByTestId('linq-connected').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('linq-test-report').innerText(), /Delivered/u, 'the path works');
    await shot(page, 'onboarding-connected');

    const sub = fake.subs[0];
    assert.match(sub?.target_url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/webhooks\/linq\?version=2026-02-03$/u, 'the subscription points at the tunnel');
    const me = { id: 'h-me', handle: '+15550100001', joined_at: '2026-11-01T00:00:00Z', service: 'iMessage', is_me: true };
    const them = { id: 'h-ana', handle: '+15557770001', joined_at: '2026-11-01T00:00:00Z', service: 'iMessage', is_me: false };
    const status = await fake.deliver('evt-first', 'message.received', {
      id: 'm-first', chat: { id: 'chat-first', health_status: 'healthy', is_group: false, owner_handle: me },
      direction: 'inbound', parts: [{ type: 'text', value: 'Hi! Is the quote ready?', text_decorations: null }],
      sender_handle: them, service: 'iMessage', sent_at: new Date().toISOString(), delivered_at: null, read_at: null, reply_to: null,
    });
    assert.equal(status, 200, 'Linq\'s delivery through the tunnel is accepted');

    await click(page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Chats' }));
    // The row in the chat list, not the screen reader's out-of-sight line about the same arrival.
    await click(page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name: /\+15557770001/u }));
    await page.getByRole('log', { name: /\+15557770001/u }).getByText('Hi! Is the quote ready?').waitFor();
    const seconds = (Date.now() - started) / 1000;
    await shot(page, 'onboarding-first-message');
    console.log(`first run: ${seconds.toFixed(1)} s and ${clicks} clicks from an empty data folder to the first message`);
    assert.ok(seconds < 120, `under two minutes (${seconds} s)`);
    assert.ok(clicks < 10, `under ten clicks (${clicks})`);
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
