// @ts-check
// Test helpers: run the real `linq-inbox serve` on free ports with a temp data dir, and feed it
// signed Linq webhooks exactly as Linq would (HMAC-SHA256 of the raw body).
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = process.env.LINQ_INBOX_BIN ?? new URL('../../../target/debug/linq-inbox', import.meta.url).pathname;
export const SECRET = 'e2e-secret-0123456789';
export const TOKEN = 'e2e-token-abcdef0123456789';

/** A port nobody is listening on right now. */
export async function freePort() {
  const [port] = await freePorts(1);
  return port;
}

/**
 * `n` ports nobody is listening on right now, all different: every socket stays bound until the
 * last one is, so the kernel cannot hand the same port out twice.
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(undefined));
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      return typeof addr === 'object' && addr ? addr.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/**
 * Starts the engine and resolves once it printed its login URL.
 * @param {{dataDir?: string, listenPort?: number, uiPort?: number, env?: Record<string, string>}} [opts]
 */
export async function startEngine(opts = {}) {
  // A port handed out free can be taken by another process before the engine binds it; when the
  // ports were ours to choose, such a start is retried on fresh ones.
  const ours = opts.listenPort === undefined && opts.uiPort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEngineOnce(opts);
    } catch (e) {
      const taken = /port is already in use/u.test(String(e));
      if (!ours || !taken || attempt === 3) throw e;
    }
  }
}

/** @param {{dataDir?: string, listenPort?: number, uiPort?: number, env?: Record<string, string>}} opts */
async function startEngineOnce(opts) {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'linq-e2e-'));
  const [listenPort, uiPort] =
    opts.listenPort !== undefined || opts.uiPort !== undefined
      ? [opts.listenPort ?? (await freePort()), opts.uiPort ?? (await freePort())]
      : await freePorts(2);
  const child = spawn(
    BIN,
    ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${listenPort}`, '--ui-listen', `127.0.0.1:${uiPort}`, '--ui-token', TOKEN],
    { env: { ...process.env, LINQ_WEBHOOK_SECRET: SECRET, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const loginUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not print a login URL in 15 s:\n${output}`)), 15_000);
    const onData = (/** @type {Buffer} */ chunk) => {
      output += chunk.toString();
      const m = output.match(/http:\/\/127\.0\.0\.1:\d+\/login\?token=[^\s"']+/u);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${BIN} (build it with \`make engine-debug\`): ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited (${code}) before it was ready:\n${output}`));
    });
  });
  const engine = {
    dataDir,
    listenPort,
    uiPort,
    loginUrl: /** @type {string} */ (loginUrl),
    uiBase: `http://127.0.0.1:${uiPort}`,
    webhookUrl: `http://127.0.0.1:${listenPort}/webhooks/linq`,
    output: () => output,
    /** Stops the engine (SIGTERM, then SIGKILL) and waits for it to exit. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    removeData() {
      rmSync(dataDir, { recursive: true, force: true });
    },
    /** GET a UI API path with the bearer token. */
    async api(/** @type {string} */ path, /** @type {RequestInit} */ init = {}) {
      const res = await fetch(`http://127.0.0.1:${uiPort}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) },
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
  };
  return engine;
}

/**
 * Runs `linq-inbox simulate` against the engine's listener (its story of every event type, as
 * Linq would post it) and resolves to its output once it has finished.
 */
export function simulate(/** @type {string} */ url, /** @type {string[]} */ extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['simulate', '--to', url, '--secret', SECRET, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`simulate exited ${code}:\n${output}`))));
  });
}

export function sign(/** @type {string} */ body, secret = SECRET) {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Posts one envelope, signed; resolves to the HTTP status.
 * @param {string} url
 * @param {object} envelope
 * @param {{secret?: string, signature?: string}} [opts]
 */
export async function deliver(url, envelope, opts = {}) {
  const body = JSON.stringify(envelope);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Webhook-Signature': opts.signature ?? sign(body, opts.secret) },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Posts envelopes in order and fails loudly on anything but 200. */
export async function deliverAll(/** @type {string} */ url, /** @type {object[]} */ envelopes) {
  for (const e of envelopes) {
    const status = await deliver(url, e);
    if (status !== 200) throw new Error(`delivery of ${JSON.stringify(e).slice(0, 200)} answered ${status}`);
  }
}

// ---------- envelopes (shapes from linq-webhooks.md) ----------

export const ME = { identifier: '+15559990000', display_name: 'Your Linq Number', is_me: true };
export const ME2 = { identifier: '+15559990001', display_name: 'Second Linq Number', is_me: true };

let clock = Date.parse('2026-11-20T15:00:00Z');
/** A strictly increasing time, so the stream's order is the thread's order. */
export function nextTime(stepSeconds = 60) {
  clock += stepSeconds * 1000;
  return new Date(clock).toISOString().replace('.000Z', 'Z');
}
export function setClock(/** @type {string} */ iso) {
  clock = Date.parse(iso);
}

function envelope(/** @type {string} */ type, /** @type {object} */ data, at = nextTime()) {
  return { api_version: 'v2', created_at: at, data, event_id: randomUUID(), event_type: type };
}

/**
 * @param {{id: string, chat: string, text?: string|null, from: {identifier: string, display_name: string|null, is_me: boolean}, handles: object[], service?: string, attachments?: object[], at?: string}} m
 */
export function message(m) {
  const at = m.at ?? nextTime();
  const outbound = m.from.is_me;
  return envelope(outbound ? 'message.sent' : 'message.received', {
    id: m.id,
    chat_id: m.chat,
    text: m.text ?? null,
    sent_at: at,
    is_read: false,
    from_phone: m.from.identifier,
    service: m.service ?? 'iMessage',
    reaction_id: null,
    chat_handles: m.handles,
    attachments: m.attachments ?? [],
  }, at);
}

export function read(/** @type {string} */ chat, /** @type {string} */ id, at = nextTime(10)) {
  return envelope('message.read', { id, chat_id: chat, read_at: at }, at);
}

/**
 * @param {{id: string, chat: string, messageId: string, messageText: string, reaction: string, from: {identifier: string, display_name: string|null, is_me: boolean}, handles: object[]}} r
 */
export function reaction(r) {
  const at = nextTime(10);
  return envelope(r.from.is_me ? 'reaction.sent' : 'reaction.received', {
    id: r.id,
    chat_message_id: r.messageId,
    chat_id: r.chat,
    reaction: r.reaction,
    is_from_me: r.from.is_me,
    sent_at: at,
    created_at: at,
    chat_handle: { id: `h-${r.from.identifier}`, identifier: r.from.identifier },
    chat_handles: r.handles,
    associated_message: { id: r.messageId, text: r.messageText, sent_at: at },
  }, at);
}

export function typing(/** @type {string} */ chat, /** @type {object[]} */ handles, on = true) {
  // Typing expires 30 s after its own timestamp, so it is stamped with the real time.
  const at = new Date().toISOString();
  return envelope(on ? 'typing_indicator.received' : 'typing_indicator.removed', { chat_id: chat, display: on, timestamp: at, chat_handles: handles }, at);
}

/**
 * @param {{id: string, from: string, to: string, direction?: string, status?: string, duration?: number, voicemail?: boolean, answeredBy?: string|null, recording?: {url: string, duration: number, transcription: string, summary: string} | null}} c
 */
export function call(c) {
  const start = nextTime(60);
  const end = new Date(Date.parse(start) + (c.duration ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
  return envelope('call.completed', {
    id: c.id,
    to: c.to,
    from: c.from,
    status: c.status ?? 'completed',
    direction: c.direction ?? 'inbound',
    start_time: start,
    end_time: end,
    duration: c.duration ?? 0,
    call_type: 'normal',
    forwarded_from: null,
    answered_by: c.answeredBy === undefined ? c.to : c.answeredBy,
    voicemail: c.voicemail ?? false,
    has_recording: !!c.recording,
    recording_data: c.recording ? { id: `rec-${c.id}`, transcribed: true, transcript_available: true, ...c.recording } : null,
  }, end);
}

/**
 * @param {{id: number, first: string, last: string, phone: string, email?: string, company?: string, title?: string}} c
 * @param {'contact.created'|'contact.updated'} [type]
 */
export function contact(c, type = 'contact.created') {
  const at = nextTime(5);
  return envelope(type, {
    id: c.id,
    first_name: c.first,
    last_name: c.last,
    full_name: `${c.first} ${c.last}`,
    email: c.email ?? null,
    phone_number: c.phone,
    company: c.company ?? null,
    title: c.title ?? null,
    location: 'Austin, TX',
    image_url: null,
    created_at: at,
    updated_at: at,
    contact_owner: { id: 456, email: 'owner@company.com', first_name: 'Jane', last_name: 'Owner', name: 'Jane Owner' },
  }, at);
}

export function participant(/** @type {string} */ chat, /** @type {string} */ identifier, /** @type {string} */ name, added = true) {
  return envelope(added ? 'participant.added' : 'participant.removed', { chat_id: chat, participant: { handle: identifier, display_name: name } });
}
