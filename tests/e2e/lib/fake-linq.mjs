// @ts-check
// The fake Linq the browser tests share: a server on loopback that records each request
// (method, path with its query, bearer header, JSON body), answers `Authorization: Bearer
// LINQ_TOKEN` calls from a route table and everything else with v3's error body, and serves
// files (Linq's CDN) without a token. `fakeLinqV3` adds the v3 webhook subscriptions and lines,
// and delivers webhooks signed with the secret it issued, as Linq would. `useTeardown` is the
// `after` hook every spec needs: browser, engine, data folder, fake, in that order.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after } from 'node:test';

export const LINQ_TOKEN = 'lq_e2e_token_0123456789';
export const SUBS = '/api/partner/v3/webhook-subscriptions';
export const LINES = ['+15550100001', '+15550100002'];
export const SIGNING_SECRET = 'whsec_ZTJlLXYzLXNpZ25pbmcta2V5LTAxMjM0NTY3ODk=';

/** @typedef {{method: string, path: string, auth: string | undefined, body: any}} Seen */
/** @typedef {(request: Seen) => [number, any] | undefined} Route */

const v3Error = (/** @type {number} */ status, /** @type {number} */ code, /** @type {string} */ message) =>
  ({ success: false, error: { status, code, message } });

/**
 * A fake Linq on a free loopback port. `routes`: `"METHOD /path"` (no query) → the answer
 * `[status, body]`; `files`: a path prefix → the bytes served for it, with no token needed.
 * @param {{ routes?: Record<string, Route>, files?: Record<string, Buffer> }} table
 */
export async function startFakeLinq({ routes = {}, files = {} }) {
  /** @type {Seen[]} */
  const seen = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = req.url ?? '';
      const request = { method: req.method ?? '', path, auth: req.headers.authorization, body: raw ? JSON.parse(raw) : undefined };
      seen.push(request);
      const file = Object.entries(files).find(([prefix]) => path.startsWith(prefix));
      if (file) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file[1].length });
        return res.end(file[1]);
      }
      const send = (/** @type {number} */ status, /** @type {any} */ answer) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      };
      if (req.headers.authorization !== `Bearer ${LINQ_TOKEN}`) return send(401, v3Error(401, 2004, 'Unauthorized'));
      const answer = routes[`${request.method} ${path.split('?')[0]}`]?.(request);
      return answer ? send(...answer) : send(404, v3Error(404, 2001, 'not found'));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    /** Every request so far as `METHOD /path?query`. */
    calls: () => seen.map((s) => `${s.method} ${s.path}`),
    close: () => server.close(),
  };
}

/** A fake of Linq's v3 subscriptions and lines that delivers webhooks signed as Linq signs them. */
export async function fakeLinqV3() {
  /** @type {any[]} */
  const subs = [];
  const lines = LINES.map((n, i) => ({ id: `line-${i}`, phone_number: n, reputation: { status: 'HEALTHY', doc_url: 'x' }, forwarding_number: null }));
  const fake = await startFakeLinq({
    routes: {
      'GET /api/partner/v3/phone_numbers': () => [200, { phone_numbers: lines }],
      [`GET ${SUBS}`]: () => [200, { subscriptions: subs }],
      [`POST ${SUBS}`]: ({ body }) => {
        const sub = { id: 'b1e2c3d4-0000-4000-8000-000000000001', target_url: body.target_url, subscribed_events: body.subscribed_events, is_active: true, phone_numbers: body.phone_numbers ?? null, created_at: '2026-12-04T00:00:00Z', updated_at: '2026-12-04T00:00:00Z' };
        subs.push(sub);
        return [201, { ...sub, signing_secret: SIGNING_SECRET }];
      },
    },
  });
  /** Posts a v3 event to the subscription's target, signed as Linq signs it; the status. */
  const deliver = async (/** @type {string} */ id, /** @type {string} */ type, /** @type {object} */ data) => {
    const sub = subs[subs.length - 1];
    if (!sub) throw new Error('no subscription to deliver to');
    const body = JSON.stringify({ api_version: 'v3', webhook_version: '2026-02-03', event_type: type, event_id: id,
      created_at: new Date().toISOString(), trace_id: `t-${id}`, partner_id: 'p', data });
    const ts = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(SIGNING_SECRET.slice('whsec_'.length), 'base64');
    const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    const res = await fetch(sub.target_url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` } });
    await res.arrayBuffer();
    return res.status;
  };
  return { ...fake, subs, deliver };
}

/**
 * What a spec starts, stopped after it by one `after` hook (call inside `describe`): the
 * browser, then the engine and its data folder, then the fake.
 * @returns {{ fake?: { close: () => void }, engine?: { stop: () => Promise<unknown>, removeData: () => void }, browser?: { close: () => Promise<unknown> } }}
 */
export function useTeardown() {
  /** @type {ReturnType<typeof useTeardown>} */
  const started = {};
  after(async () => {
    await started.browser?.close();
    await started.engine?.stop();
    started.engine?.removeData();
    started.fake?.close();
  });
  return started;
}
