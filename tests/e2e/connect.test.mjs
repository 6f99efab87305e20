// @ts-check
// Settings → Connect to Linq, clicked through in the browser against the real engine and a
// local fake of Linq's v2 subscription API: token (shown only masked), connect (a hostile error
// from Linq stays text), test delivery through the listener, rotation with the grace period.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { launch, shot } from './lib/browser.mjs';
import * as L from './lib/engine.mjs';
import { useTeardown } from './lib/fake-linq.mjs';

const LINQ_TOKEN = 'lq_e2e_token_0123456789';
const PATH = '/api/partner/v2/webhook_subscriptions';

/** A fake Linq: records each request; answers from `script` first, then like Linq would. */
async function fakeLinq() {
  /** @type {{method: string, path: string, token: string | undefined, body: any}[]} */
  const seen = [];
  /** @type {{status: number, body: any}[]} */
  const script = [];
  /** @type {any[]} */
  const subs = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      seen.push({ method: req.method ?? '', path: req.url ?? '', token: /** @type {string|undefined} */ (req.headers['x-linq-integration-token']), body });
      const send = (/** @type {number} */ status, /** @type {any} */ answer) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      };
      const next = script.shift();
      if (next) return send(next.status, next.body);
      if (req.method === 'GET') return send(200, { webhook_subscriptions: subs });
      const w = body?.webhook_subscription ?? {};
      const sub = { id: 'sub-1', webhook_url: w.webhook_url, events: w.events, active: true, secret_configured: true, last_delivered_at: null, delivery_attempts: 0 };
      if (req.method === 'POST') {
        subs.push(sub);
        return send(201, sub);
      }
      if (req.method === 'PUT') return send(200, sub);
      return send(204, undefined);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { base: `http://127.0.0.1:${port}`, seen, script, close: () => server.close() };
}

describe('Connect to Linq', () => {
  const session = useTeardown();

  it('token, connect, test delivery and rotation from Settings', async () => {
    const fake = (session.fake = await fakeLinq());
    // An empty LINQ_WEBHOOK_SECRET lets the app own (and rotate) its generated secret.
    // No keyring here (tests/engine/keyring.rs covers a real one): the token goes to config.toml.
    const engine = (session.engine = await L.startEngine({ env: { LINQ_API_BASE: fake.base, LINQ_API_VERSION: 'v2', LINQ_WEBHOOK_SECRET: '', LINQ_INTEGRATION_TOKEN: '', LINQ_INBOX_KEYRING: 'off' } }));
    const browser = (session.browser = await launch());
    const page = browser.page;
    await page.goto(engine.loginUrl);
    await page.evaluate(() => (location.hash = '#/settings'));
    await page.getByRole('heading', { name: 'Connect to Linq' }).waitFor();

    await page.getByLabel('Linq integration token').fill(LINQ_TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByTestId('linq-token-masked').waitFor();
    assert.equal(await page.getByTestId('linq-token-masked').innerText(), 'lq_e…6789', 'the token is shown masked');
    assert.ok(!(await page.content()).includes(LINQ_TOKEN), 'the full token is nowhere on the page');
    const where = await page.getByTestId('linq-token-location').innerText();
    assert.match(where, /^The token is kept in .*config\.toml, readable only by you \(mode 0600\)/, `Settings says where the token lives: ${where}`);

    // Linq refuses the first attempt with a message that looks like markup: it stays text.
    fake.script.push({ status: 200, body: { webhook_subscriptions: [] } });
    fake.script.push({ status: 422, body: { error: '<img src=x onerror="alert(1)"> webhook_url is invalid' } });
    await page.getByLabel('Public URL of your tunnel').fill(`http://127.0.0.1:${engine.listenPort}`);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Linq refused the request' });
    await alert.waitFor();
    assert.equal(await alert.innerText(), 'Linq refused the request: <img src=x onerror="alert(1)"> webhook_url is invalid');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element was made from Linq\'s text');

    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByTestId('linq-connected').waitFor();
    assert.match(await page.getByTestId('linq-connected').innerText(), /Subscription sub-1 → http:\/\/127\.0\.0\.1:\d+\/webhooks\/linq/u);
    const posts = fake.seen.filter((s) => s.method === 'POST');
    assert.equal(posts.length, 2, 'the refused create, then the one that worked');
    const create = posts[1];
    assert.ok(create);
    assert.equal(create.path, PATH);
    assert.equal(create.body.webhook_subscription.version, 2);
    assert.equal(create.token, LINQ_TOKEN, 'with the token header');

    await page.getByRole('button', { name: 'Send test delivery' }).click();
    const report = page.getByTestId('linq-test-report');
    await report.waitFor();
    assert.match(await report.innerText(), /Delivered[\s\S]*came back through the tunnel and was stored/u);

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const grace = page.getByTestId('linq-grace');
    await grace.waitFor();
    assert.match(await grace.innerText(), /A previous secret is still accepted for 2[34] h \d+ min/u);
    const put = fake.seen.filter((s) => s.method === 'PUT').pop();
    assert.equal(put?.path, `${PATH}/sub-1`);
    assert.notEqual(put?.body.webhook_subscription.secret, create.body.webhook_subscription.secret, 'Linq got a new secret');
    await shot(page, 'settings-connect-linq');
    assert.deepEqual(browser.dialogs, [], 'no dialog fired');
  });
});
