// @ts-check
// A fake of Linq's v3 webhook subscriptions and lines for the browser tests: records each
// request, issues one signing secret per subscription, and delivers webhooks to the
// subscription's target signed with it (Standard Webhooks), as Linq would.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';

export const LINQ_TOKEN = 'lq_e2e_token_0123456789';
export const SUBS = '/api/partner/v3/webhook-subscriptions';
export const LINES = ['+15550100001', '+15550100002'];
export const SIGNING_SECRET = 'whsec_ZTJlLXYzLXNpZ25pbmcta2V5LTAxMjM0NTY3ODk=';

/** A fake of Linq's v3 subscriptions and lines: records each request. */
export async function fakeLinqV3() {
  /** @type {{method: string, path: string, auth: string | undefined, body: any}[]} */
  const seen = [];
  /** @type {any[]} */
  const subs = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      const path = req.url ?? '';
      seen.push({ method: req.method ?? '', path, auth: req.headers.authorization, body });
      const send = (/** @type {number} */ status, /** @type {any} */ answer) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      };
      if (req.headers.authorization !== `Bearer ${LINQ_TOKEN}`) return send(401, { success: false, error: { status: 401, code: 2004, message: 'Unauthorized' } });
      if (path === '/api/partner/v3/phone_numbers') {
        return send(200, { phone_numbers: LINES.map((n, i) => ({ id: `line-${i}`, phone_number: n, reputation: { status: 'HEALTHY', doc_url: 'x' }, forwarding_number: null })) });
      }
      if (path === SUBS && req.method === 'GET') return send(200, { subscriptions: subs });
      if (path === SUBS && req.method === 'POST') {
        const sub = { id: 'b1e2c3d4-0000-4000-8000-000000000001', target_url: body.target_url, subscribed_events: body.subscribed_events, is_active: true, phone_numbers: body.phone_numbers ?? null, created_at: '2026-12-04T00:00:00Z', updated_at: '2026-12-04T00:00:00Z' };
        subs.push(sub);
        return send(201, { ...sub, signing_secret: SIGNING_SECRET });
      }
      return send(404, { success: false, error: { status: 404, code: 2001, message: 'not found' } });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
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
  return { base: `http://127.0.0.1:${port}`, seen, subs, deliver, close: () => server.close() };
}

