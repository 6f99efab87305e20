// A stand-in for the engine's UI server, for working on the UI without building the engine:
// serves ../dist under the engine's Content-Security-Policy and answers the UI API (docs/API.md)
// from a small in-memory inbox. `POST /mock/emit {"event": ..., "data": ...}` pushes a stream
// event. Not used by any test: the browser tests run against the real engine.
//
//   node dev/mock-api.mjs [port]     then open http://127.0.0.1:PORT/
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';

const port = Number(process.argv[2] ?? 8788);
const dist = new URL('../dist/', import.meta.url).pathname;
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; media-src 'self' https:; connect-src 'self'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

const me = { identifier: '+15559990000', display_name: 'Your Linq Number', is_me: true, name: 'Your Linq Number' };
const maria = { identifier: '+15551230001', display_name: 'María López', is_me: false, name: 'María López' };
const now = Date.now();
const iso = (minAgo) => new Date(now - minAgo * 60_000).toISOString();
const m = (id, chat, text, minAgo, out = false, extra = {}) => ({
  kind: 'message', id, chat_id: chat, text, sent_at: iso(minAgo), direction: out ? 'outbound' : 'inbound',
  from_phone: out ? me.identifier : maria.identifier, from_name: out ? 'You' : 'María López', service: 'iMessage',
  read_at: null, attachments: [], reactions: [], ...extra,
});
const threads = {
  'chat-maria': [
    m('m1', 'chat-maria', 'Hi! Did you get the proposal?', 1500),
    m('m2', 'chat-maria', 'Yes, reviewing it now.', 1490, true),
    m('m3', 'chat-maria', 'Can we talk tomorrow?', 30),
    m('m4', 'chat-maria', 'Sure, 10am works', 28, true, { read_at: iso(27), reactions: [{ id: 'r1', reaction: 'love', from: maria.identifier, from_name: 'María López', is_from_me: false, sent_at: iso(27) }] }),
    m('m5', 'chat-maria', 'Here is the signed copy', 5, false, { attachments: [{ id: 'a1', url: 'https://example.test/contract.pdf', filename: 'contract.pdf', mime_type: 'application/pdf' }] }),
  ],
};
for (let i = 0; i < 3000; i++) threads['chat-maria'].unshift(m(`old${i}`, 'chat-maria', `Older message ${i} ${'lorem ipsum '.repeat(i % 7)}`, 3000 + i * 3, i % 3 === 0));
const chats = [{
  chat_id: 'chat-maria', title: 'María López', is_group: false, handles: [maria, me], my_numbers: [me.identifier], members: [],
  last_message: threads['chat-maria'].at(-1), last_activity_at: iso(5), unread_count: 1, typing: [], muted: false,
}];
const calls = [
  { id: 'call-2', from: maria.identifier, from_name: 'María López', to: me.identifier, direction: 'inbound', status: 'no-answer', start_time: iso(60), end_time: iso(59), duration: 40, call_type: 'normal', forwarded_from: null, answered_by: null, voicemail: true, missed: true, chat_id: 'chat-maria',
    recording: { id: 'r2', url: 'https://example.test/vm.mp3', duration: 40, transcription: 'Hi, it is María, call me back about the pilot.', summary: 'María left a voicemail about the pilot.' } },
  { id: 'call-1', from: maria.identifier, from_name: 'María López', to: me.identifier, direction: 'inbound', status: 'completed', start_time: iso(95), end_time: iso(90), duration: 330, call_type: 'normal', forwarded_from: null, answered_by: me.identifier, voicemail: false, missed: false, chat_id: 'chat-maria',
    recording: { id: 'r1', url: 'https://example.test/c1.mp3', duration: 330, transcription: 'Hello, this is María calling about our meeting tomorrow at 2pm. I wanted to confirm the agenda and whether legal has signed off on the renewal terms.', summary: 'María called to confirm tomorrow’s meeting at 2pm.' } },
];
const contacts = [{ id: '101', first_name: 'María', last_name: 'López', full_name: 'María López', email: 'maria@acme.test', phone_number: maria.identifier, company: 'Acme Corp', title: 'VP Sales', location: 'Austin, TX', image_url: null, created_at: iso(5000), updated_at: iso(100), owner: { id: '456', name: 'Jane Owner', email: 'owner@company.com' }, chat_id: 'chat-maria' }];
const events = [
  { seq: 5, event_id: '9dabceb9-9194-4dc6-beda-892573f377b4', event_type: 'message.received', created_at: iso(5), created_at_original: '2026-11-26T18:15:00-06:00', received_at: iso(5), signature: 'raw', payload: { api_version: 'v2', event_type: 'message.received', data: { id: 'm5', chat_id: 'chat-maria', text: 'Here is the signed copy', attachments: [{ filename: 'contract.pdf' }] } } },
  { seq: 4, event_id: 'wh_evt_101jkl', event_type: 'call.completed', created_at: iso(59), received_at: iso(59), signature: 'canonical', payload: { api_version: 'v2', data: { id: 'call-2', voicemail: true } } },
];
const rejected = [{ id: 1, received_at: iso(3), status: 401, reason: 'signature did not match any secret', remote_addr: '127.0.0.1:51234', headers: ['content-type', 'x-webhook-signature'], size: 812, body_prefix: '{"api_version":"v2","created_at":"2026-11-26T10:00:00Z","data":{' }];
let settings = { muted_chats: [], do_not_disturb: false, dnd_until: null, previews: true, notify: { message: true, call: true, reaction: false }, theme: 'system' };
const status = {
  version: 'mock', listener: { address: '127.0.0.1:8787', path: '/webhooks/linq', url: 'http://127.0.0.1:8787/webhooks/linq' },
  ui: { address: `127.0.0.1:${port}` }, signing: { mode: 'secret', secret_count: 1, secret_source: 'config', allow_unsigned: false },
  db: { path: '/tmp/mock.db', size_bytes: 4096, counts: { events: 5, chats: 1, messages: 5, calls: 0, contacts: 0, rejected: 0 } },
  last_event_at: iso(5), rejected_count: 0, store: { ok: true, error: null },
};
let seq = 5;
const clients = new Set();

function json(res, body, code = 200) {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Security-Policy': CSP });
  res.end(JSON.stringify(body));
}
function readBody(req) {
  return new Promise((r) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => r(b ? JSON.parse(b) : {}));
  });
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  if (p === '/api/stream') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    res.write(': hello\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
    return;
  }
  if (p === '/mock/emit') {
    const { event, data } = await readBody(req);
    seq++;
    for (const c of clients) c.write(`id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify({ seq, ...data })}\n\n`);
    return json(res, { seq });
  }
  if (p === '/api/status') return json(res, status);
  if (p === '/api/chats') return json(res, { chats, has_more: false });
  const mm = p.match(/^\/api\/chats\/([^/]+)\/messages$/);
  if (mm) {
    const all = threads[decodeURIComponent(mm[1])] ?? [];
    const before = url.searchParams.get('before');
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const end = before ? all.findIndex((x) => x.id === before) : all.length;
    const start = Math.max(0, end - limit);
    return json(res, { messages: all.slice(start, end), has_more: start > 0 });
  }
  if (/^\/api\/chats\/[^/]+\/read$/.test(p)) return json(res, { chat_id: 'chat-maria', unread_count: 0 });
  if (p.startsWith('/api/chats/')) return json(res, chats[0]);
  if (p === '/api/calls') return json(res, { calls, has_more: false });
  if (p === '/api/contacts') return json(res, { contacts });
  if (p === '/api/events') return json(res, { events, has_more: false });
  if (p === '/api/rejected') return json(res, { rejected, total: rejected.length });
  if (p === '/api/search') return json(res, { query: url.searchParams.get('q'), results: [
    { kind: 'message', id: 'm3', chat_id: 'chat-maria', title: 'María López', snippet: 'Can we talk tomorrow?', highlights: [{ start: 12, end: 20 }], at: iso(30) },
    { kind: 'call', id: 'call-1', chat_id: 'chat-maria', title: 'María López', snippet: '…about the meeting tomorrow at 2pm…', highlights: [{ start: 19, end: 27 }], at: iso(90) },
    { kind: 'contact', id: '101', chat_id: 'chat-maria', title: 'María López', snippet: 'María López · Acme Corp', highlights: [{ start: 0, end: 5 }], at: null },
  ] });
  if (p === '/api/presence') return json(res, {});
  if (p === '/api/settings') {
    if (req.method === 'PUT') settings = { ...settings, ...(await readBody(req)) };
    return json(res, settings);
  }
  if (p.startsWith('/api/secret/')) return json(res, { secret: 'mock-secret' });
  const file = join(dist, p === '/' ? 'index.html' : p);
  if (file.startsWith(dist) && existsSync(file)) {
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP });
    return res.end(readFileSync(file));
  }
  res.writeHead(404);
  res.end();
}).listen(port, '127.0.0.1', () => console.log(`mock UI API on http://127.0.0.1:${port}/`));
