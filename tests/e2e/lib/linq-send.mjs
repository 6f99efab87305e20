// @ts-check
// A fake of Linq's v3 REST API for answering from the inbox: one account with one chat (listed
// for the catch-up pass at start), attachment pre-upload (`POST /v3/attachments`, the bytes PUT
// to its `upload_url`), sending into it (deduplicated by idempotency key, as Linq
// does; an opted-out recipient refused with 403 code 2024 on command; answers held back on
// command, so a test sees `sending`), and the typing indicator. Records every request with the
// wall-clock time it arrived.
import { createServer } from 'node:http';

export const LINQ_TOKEN = 'lq_e2e_token_0123456789';
export const LINE = '+14155550100';
export const ANN = '+14155550101';
export const CHAT = 'c-ann';

const ago = (/** @type {number} */ minutes) => new Date(Date.now() - minutes * 60_000).toISOString();
const handle = (/** @type {string} */ h, /** @type {boolean} */ me) => ({ id: `h-${h}`, handle: h, is_me: me, service: 'iMessage', joined_at: ago(9000) });

/** The question the rep answers. */
export const QUESTION = { id: 'm-ask', text: 'can we move the demo to Friday?' };

export async function fakeLinqSend() {
  /** @type {{method: string, path: string, at: number, body: any}[]} */
  const seen = [];
  const chat = { id: CHAT, created_at: ago(9000), updated_at: ago(1), is_group: false, display_name: 'Ann',
    handles: [handle(LINE, true), handle(ANN, false)], service: 'iMessage', is_archived: false,
    health_status: { status: 'HEALTHY', doc_url: 'https://docs', updated_at: ago(1) } };
  const question = { id: QUESTION.id, chat_id: CHAT, created_at: ago(5), updated_at: ago(5), is_from_me: false,
    delivery_status: 'received', is_delivered: false, is_read: false, sent_at: ago(5), delivered_at: null, read_at: null,
    from_handle: handle(ANN, false), service: 'iMessage', parts: [{ type: 'text', value: QUESTION.text, reactions: [] }] };
  /** @type {Map<string, any>} */
  const byKey = new Map();
  const control = { optedOut: false, holdMs: 0 };

  /** Pre-uploads asked for, and the bytes PUT for each (by attachment id). */
  /** @type {{id: string, request: any}[]} */
  const created = [];
  /** @type {Map<string, {bytes: Buffer, contentType: string | undefined}>} */
  const received = new Map();
  /** @type {string} */
  let base = '';

  const server = createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString('utf8');
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path.startsWith('/upload-target/') && req.method === 'PUT') {
        const id = path.slice('/upload-target/'.length);
        seen.push({ method: 'PUT', path, at: Date.now(), body: { size: bytes.length } });
        if (!created.some((c) => c.id === id)) {
          res.writeHead(404);
          return res.end();
        }
        received.set(id, { bytes, contentType: req.headers['content-type'] });
        res.writeHead(200);
        return res.end();
      }
      let body;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      seen.push({ method: req.method ?? '', path, at: Date.now(), body });
      const send = (/** @type {number} */ status, /** @type {any} */ answer) => {
        res.writeHead(status, answer === undefined ? {} : { 'Content-Type': 'application/json' });
        res.end(answer === undefined ? '' : JSON.stringify(answer));
      };
      const refuse = (/** @type {number} */ status, /** @type {number} */ code, /** @type {string} */ message) =>
        send(status, { success: false, error: { status, code, message }, trace_id: 't' });
      if (req.headers.authorization !== `Bearer ${LINQ_TOKEN}`) return refuse(401, 2004, 'Unauthorized');
      if (path === '/api/partner/v3/chats') return send(200, { chats: [chat], next_cursor: null });
      if (path === `/api/partner/v3/chats/${CHAT}/messages` && req.method === 'GET') return send(200, { messages: [question], next_cursor: null });
      if (path === `/api/partner/v3/chats/${CHAT}/typing`) return send(204, undefined);
      if (path === '/api/partner/v3/attachments' && req.method === 'POST') {
        const id = `att-${String(created.length + 1).padStart(4, '0')}-0000-4000-8000-000000000000`;
        created.push({ id, request: body });
        return send(200, { attachment_id: id, upload_url: `${base}/upload-target/${id}`, http_method: 'PUT',
          required_headers: { 'Content-Type': body?.content_type }, expires_at: new Date(Date.now() + 900_000).toISOString(),
          download_url: `https://cdn.linqapp.com/attachments/partners/p/${id}/${body?.filename}` });
      }
      if (path === `/api/partner/v3/chats/${CHAT}/messages` && req.method === 'POST') {
        if (control.optedOut) return refuse(403, 2024, 'Recipient has opted out of messages');
        const message = body?.message ?? {};
        const key = message.idempotency_key;
        let sent = key ? byKey.get(key) : undefined;
        if (!sent) {
          sent = { id: `sent-${String(byKey.size + 1).padStart(4, '0')}-0000-4000-8000-000000000000`, created_at: new Date().toISOString(),
            delivery_status: 'pending', is_read: false, parts: message.parts, sent_at: null, delivered_at: null, from_handle: null,
            service: null, preferred_service: null, effect: null, reply_to: message.reply_to ?? null };
          if (key) byKey.set(key, sent);
        }
        const answer = () => send(200, { chat_id: CHAT, message: sent });
        if (control.holdMs > 0) setTimeout(answer, control.holdMs);
        else answer();
        return;
      }
      return refuse(404, 2001, 'Not found');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  base = `http://127.0.0.1:${port}`;
  /** The sends that reached the fake, in order. */
  const sends = () => seen.filter((s) => s.method === 'POST' && s.path === `/api/partner/v3/chats/${CHAT}/messages`);
  return { base, seen, sends, byKey, control, created, received, close: () => server.close() };
}

/** Linq's v3 webhook about the rep's sent message `id` (`message.sent`, `message.delivered`). */
export function ownMessageWebhook(/** @type {string} */ type, /** @type {string} */ id, /** @type {string} */ text) {
  const now = new Date().toISOString();
  return { api_version: 'v3', webhook_version: '2026-02-03', event_type: type, event_id: `${type}-${id}`, created_at: now,
    data: { id, chat: { id: CHAT, is_group: false, owner_handle: handle(LINE, true) }, direction: 'outbound',
      sender_handle: handle(LINE, true), parts: [{ type: 'text', value: text }], sent_at: now,
      delivered_at: type === 'message.delivered' ? now : null, service: 'iMessage' } };
}
