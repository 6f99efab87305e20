import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Inbox, STORE_BANNER_HOLD_MS } from './inbox.svelte';
import { chat, msg } from './testing/fixtures';

/** A fake UI API: answers each path from a table and records every request. */
function fakeApi(routes: Record<string, unknown>) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ method: init?.method ?? 'GET', url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const path = url.split('?')[0] ?? url;
    const route = routes[`${init?.method ?? 'GET'} ${path}`] ?? routes[path];
    const body = typeof route === 'function' ? (route as (u: URL) => unknown)(new URL(url, 'http://ui')) : route;
    if (body === undefined) return new Response('{"error":"not found"}', { status: 404 });
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

const status = {
  version: '0', listener: { address: 'a', path: '/webhooks/linq', url: 'http://a/webhooks/linq' }, ui: { address: 'b' },
  signing: { mode: 'secret', secret_count: 1, secret_source: 'env', allow_unsigned: false },
  db: { path: 'x', size_bytes: 0, counts: { events: 0, chats: 0, messages: 0, calls: 0, contacts: 0, rejected: 0 } },
  last_event_at: null, rejected_count: 0, store: { ok: true, error: null },
};

function baseRoutes(extra: Record<string, unknown> = {}) {
  return {
    '/api/events': { events: [{ seq: 4, event_id: 'e4', event_type: 'message.received', created_at: null, received_at: '', signature: 'raw', payload: {} }], has_more: false },
    '/api/chats': { chats: [chat('c1', '2025-05-21T10:00:00Z', { unread_count: 1 }), chat('c2', '2025-05-21T11:00:00Z')], has_more: false },
    '/api/calls': { calls: [], has_more: false },
    '/api/contacts': { contacts: [] },
    '/api/status': status,
    '/api/settings': { muted_chats: [], do_not_disturb: false, dnd_until: null, previews: true, notify: { message: true, call: true, reaction: false }, theme: 'system' },
    '/api/chats/c1/messages': { messages: [msg('1', '2025-05-21T10:00:00Z')], has_more: false },
    'POST /api/chats/c1/read': { chat_id: 'c1', unread_count: 0 },
    'POST /api/presence': {},
    ...extra,
  };
}

async function loaded(inbox: Inbox): Promise<void> {
  // `start` would also open the stream; the tests drive `dispatch` by hand instead.
  await (inbox as unknown as { loadAll(): Promise<void> }).loadAll();
}

describe('Inbox store', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => vi.unstubAllGlobals());

  it('resumes after the newest event it loaded', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    expect(inbox.lastSeq, 'the stream resumes after the last event in the log').toBe(4);
    expect(inbox.chats.map((c) => c.chat_id), 'newest activity first').toEqual(['c2', 'c1']);
  });

  it('applies a new message to the chat list and the open thread, once', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.focused = false;
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const m = msg('2', '2025-05-21T12:00:00Z', { text: 'Can we talk tomorrow?' });
    const ev = { seq: 5, event_id: 'e5', event_type: 'message.received', created_at: null, message: m,
      chat: chat('c1', '2025-05-21T12:00:00Z', { last_message: m, unread_count: 2 }) };
    inbox.dispatch('message.received', JSON.stringify(ev), '5');
    inbox.dispatch('message.received', JSON.stringify(ev), '5');
    expect(inbox.thread('c1').items.map((i) => i.id), 'the duplicate is ignored').toEqual(['1', '2']);
    expect(inbox.chats[0]?.chat_id, 'the chat moves to the top').toBe('c1');
    expect(inbox.chats[0]?.unread_count, 'unfocused: it stays unread').toBe(2);
    expect(inbox.activity[0]?.text).toBe('María López: Can we talk tomorrow?');
    expect(inbox.lastSeq).toBe(5);
  });

  it('puts API v3 system lines into the open thread and updates a message in place', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.focused = false;
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const line = { kind: 'chat_event', id: 'chatevent-e6', chat_id: 'c1', action: 'location_started', actor: '+1',
      actor_name: 'María', old_value: null, new_value: null, sent_at: '2025-05-21T12:00:00Z' };
    inbox.dispatch('location.sharing.started', JSON.stringify({ seq: 6, event_id: 'e6', event_type: 'location.sharing.started',
      created_at: null, chat_id: 'c1', chat_event: line }), '6');
    expect(inbox.thread('c1').items.map((i) => i.id)).toEqual(['1', 'chatevent-e6']);
    const edited = msg('1', '2025-05-21T10:00:00Z', { text: 'edited text', edited_at: '2025-05-21T12:01:00Z' });
    inbox.dispatch('message.edited', JSON.stringify({ seq: 7, event_id: 'e7', event_type: 'message.edited',
      created_at: null, message: edited }), '7');
    const first = inbox.thread('c1').items[0];
    expect(first?.kind === 'message' && first.text, 'the edit replaces the message, no second copy').toBe('edited text');
    expect(inbox.thread('c1').items).toHaveLength(2);
  });

  it('marks the open chat read when the window has focus', async () => {
    const calls = fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.focused = true;
    inbox.openChat('c1');
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === '/api/chats/c1/read')).toBe(true));
    expect(inbox.chat('c1')?.unread_count).toBe(0);
    const presence = calls.find((c) => c.url === '/api/presence');
    expect(presence?.body, 'presence says which chat is open').toEqual({ chat_id: 'c1', focused: true });
  });

  it('applies typing without a stored event, and refetches on reset', async () => {
    const calls = fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.dispatch('typing', JSON.stringify({ chat_id: 'c2', typing: [{ identifier: '+1', name: 'Ann' }] }), null);
    expect(inbox.chat('c2')?.typing).toHaveLength(1);
    inbox.dispatch('typing', JSON.stringify({ chat_id: 'c2', typing: [] }), null);
    expect(inbox.chat('c2')?.typing, 'typing clears').toHaveLength(0);
    const before = calls.filter((c) => c.url.startsWith('/api/chats?')).length;
    inbox.dispatch('reset', JSON.stringify({ reason: 'fell behind' }), null);
    await vi.waitFor(() => expect(calls.filter((c) => c.url.startsWith('/api/chats?')).length).toBe(before + 1));
  });

  it('shows the store error the stream reports', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    vi.useFakeTimers();
    inbox.dispatch('store', JSON.stringify({ ok: false, error: 'disk full' }), null);
    expect(inbox.storeError).toBe('disk full');
    // Near a full disk the state flips: the banner holds instead of flickering.
    vi.advanceTimersByTime(1000);
    inbox.dispatch('store', JSON.stringify({ ok: true, error: null }), null);
    expect(inbox.storeError, 'held right after a failure').toBe('disk full');
    vi.advanceTimersByTime(1000);
    inbox.dispatch('store', JSON.stringify({ ok: false, error: 'disk full' }), null);
    inbox.dispatch('store', JSON.stringify({ ok: true, error: null }), null);
    vi.advanceTimersByTime(STORE_BANNER_HOLD_MS - 1);
    expect(inbox.storeError, 'the hold counts from the last failure').toBe('disk full');
    vi.advanceTimersByTime(1);
    expect(inbox.storeError).toBeNull();
    // Once the hold has passed, a recovery clears it at once.
    inbox.dispatch('store', JSON.stringify({ ok: false, error: 'disk full' }), null);
    vi.advanceTimersByTime(STORE_BANNER_HOLD_MS);
    inbox.dispatch('store', JSON.stringify({ ok: true, error: null }), null);
    expect(inbox.storeError).toBeNull();
  });

  it('refreshes the status after live events, and nothing once stopped', async () => {
    const calls = fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    vi.useFakeTimers();
    const statusReads = () => calls.filter((c) => c.url.startsWith('/api/status')).length;
    const send = (seq: number) => {
      const m = msg(String(seq), '2025-05-21T12:00:00Z', { text: 'hello' });
      const ev = { seq, event_id: `e${seq}`, event_type: 'message.received', created_at: null, message: m,
        chat: chat('c1', '2025-05-21T12:00:00Z', { last_message: m }) };
      inbox.dispatch('message.received', JSON.stringify(ev), String(seq));
    };
    const before = statusReads();
    send(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(statusReads(), 'a live event refreshes the counts soon after').toBe(before + 1);
    send(6);
    inbox.dispatch('store', JSON.stringify({ ok: false, error: 'disk full' }), null);
    inbox.dispatch('store', JSON.stringify({ ok: true, error: null }), null);
    inbox.stop();
    await vi.advanceTimersByTimeAsync(STORE_BANNER_HOLD_MS + 1000);
    expect(statusReads(), 'no refresh after stop').toBe(before + 1);
    expect(inbox.storeError, 'nor a banner change').toBe('disk full');
  });

  it('removes deleted contacts and adds calls', async () => {
    fakeApi(baseRoutes({ '/api/contacts': { contacts: [{ id: '123', full_name: 'John Doe', first_name: null, last_name: null, email: null, phone_number: '+1', company: null, title: null, location: null, image_url: null, created_at: null, updated_at: null, owner: null, chat_id: null }] } }));
    const inbox = new Inbox();
    await loaded(inbox);
    expect(inbox.contacts).toHaveLength(1);
    inbox.dispatch('contact.deleted', JSON.stringify({ seq: 9, event_id: 'e9', event_type: 'contact.deleted', created_at: null, contact_deleted_id: '123' }), '9');
    expect(inbox.contacts).toHaveLength(0);
  });

  it('opens a window around a deep search hit and pages forward to the newest', async () => {
    const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString();
    const latest = { messages: [msg('m900', at(900)), msg('m901', at(901))], has_more: true };
    const calls = fakeApi(baseRoutes({
      '/api/chats/c1/messages': (u: URL) => {
        if (u.searchParams.get('around') === 'm100') return { messages: [msg('m99', at(99)), msg('m100', at(100)), msg('m101', at(101))], has_more: true, has_newer: true };
        if (u.searchParams.get('after') === 'm101') return { messages: [msg('m102', at(102))], has_more: true, has_newer: false };
        return latest;
      },
    }));
    const inbox = new Inbox();
    await loaded(inbox);
    expect(await inbox.openAt('c1', 'm100'), 'a hit far outside the newest page is found').toBe(true);
    expect(calls.some((c) => c.url.includes('around=m100')), 'by asking for a window around it, not paging back').toBe(true);
    let t = inbox.thread('c1');
    expect(t.items.map((x) => x.id)).toEqual(['m99', 'm100', 'm101']);
    expect(t.hasNewer, 'the window ends before the newest message').toBe(true);

    // A new message does not join a window it is not contiguous with.
    inbox.dispatch('message.received', JSON.stringify({ seq: 10, event_id: 'e10', event_type: 'message.received', created_at: null, message: msg('m902', at(902)) }), '10');
    expect(inbox.thread('c1').items.map((x) => x.id), 'no gap is papered over').toEqual(['m99', 'm100', 'm101']);

    expect(await inbox.loadNewer('c1')).toBe(1);
    t = inbox.thread('c1');
    expect(t.items.map((x) => x.id)).toEqual(['m99', 'm100', 'm101', 'm102']);
    expect(t.hasNewer, 'the forward page reached the newest').toBe(false);

    expect(await inbox.openAt('c1', 'nope'), 'an unknown message is not found').toBe(false);
  });

  it('jumps from a window back to the newest page', async () => {
    const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString();
    fakeApi(baseRoutes({
      '/api/chats/c1/messages': (u: URL) =>
        u.searchParams.get('around')
          ? { messages: [msg('m5', at(5))], has_more: true, has_newer: true }
          : { messages: [msg('m900', at(900))], has_more: true },
    }));
    const inbox = new Inbox();
    await loaded(inbox);
    await inbox.openAt('c1', 'm5');
    expect(inbox.thread('c1').hasNewer).toBe(true);
    await inbox.jumpToLatest('c1');
    expect(inbox.thread('c1').items.map((x) => x.id)).toEqual(['m900']);
    expect(inbox.thread('c1').hasNewer).toBe(false);
  });
});
