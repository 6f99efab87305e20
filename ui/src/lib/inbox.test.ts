import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Inbox, REDERIVE_POLL_MS, STORE_BANNER_HOLD_MS } from './inbox.svelte';
import { call, chat, member, msg } from './testing/fixtures';
import type { ActivityItem, StreamEvent } from './types';

/** An answer the fake API refuses with: this status and the engine's one sentence. */
class Refusal {
  constructor(readonly status: number, readonly error: string) {}
}

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
    if (body instanceof Refusal) return new Response(JSON.stringify({ error: body.error }), { status: body.status });
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
    '/api/activity': {
      items: [{ seq: 4, event: 'message.received', data: { seq: 4, event_id: 'e4', event_type: 'message.received', created_at: null, received_at: '' } }],
      has_more: false, projected_seq: 4,
    },
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

  it('shows a kept attachment in the open thread without a new timeline entry', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const before = inbox.activity.length;
    const kept = msg('1', '2025-05-21T10:00:00Z', {
      attachments: [{ id: 'a1', key: 'a1', filename: 'p.png', mime_type: 'image/png', url: null, content_type: 'image/png',
        error: null, local_url: '/api/attachments/a1', preview: 'image', retrying: false, can_retry: false, size: 68, state: 'downloaded' }],
    });
    inbox.dispatch('attachment', JSON.stringify({ chat_id: 'c1', message: kept }), null);
    const shown = inbox.thread('c1').items[0];
    expect(shown?.kind === 'message' ? shown.attachments[0]?.local_url : null, 'the thread shows the local copy').toBe('/api/attachments/a1');
    expect(inbox.thread('c1').items.length, 'the same message, replaced').toBe(1);
    expect(inbox.activity.length, 'a download is not an event in the log').toBe(before);
  });

  it('reads the status again when a copy is kept, not when a download fails', async () => {
    const calls = fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const statusReads = () => calls.filter((c) => c.url.startsWith('/api/status')).length;
    const before = statusReads();
    const attachment = { id: 'a1', key: 'a1', filename: 'p.png', mime_type: 'image/png', url: 'https://cdn.example/p.png',
      content_type: null, error: 'the server did not answer', local_url: null, preview: null, retrying: true, can_retry: true,
      size: null, state: 'failed' as const };
    vi.useFakeTimers();
    const failed = msg('1', '2025-05-21T10:00:00Z', { attachments: [attachment] });
    inbox.dispatch('attachment', JSON.stringify({ chat_id: 'c1', message: failed }), null);
    await vi.advanceTimersByTimeAsync(2000);
    expect(statusReads(), 'a failed try changes no folder usage: no status read').toBe(before);
    const kept = msg('1', '2025-05-21T10:00:00Z', {
      attachments: [{ ...attachment, error: null, local_url: '/api/attachments/a1', retrying: false, can_retry: false,
        content_type: 'image/png', preview: 'image', size: 68, state: 'downloaded' as const }],
    });
    inbox.dispatch('attachment', JSON.stringify({ chat_id: 'c1', message: kept }), null);
    await vi.advanceTimersByTimeAsync(2000);
    expect(statusReads(), 'a kept copy grows the folder: its usage is read again, once').toBe(before + 1);
    inbox.dispatch('attachment', JSON.stringify({ chat_id: 'c1', message: kept }), null);
    await vi.advanceTimersByTimeAsync(2000);
    expect(statusReads(), 'the same copy announced again changes nothing').toBe(before + 1);
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
    expect(inbox.announcements.map((a) => a.text), 'the live region says it once, with its sender').toEqual(['María López: Can we talk tomorrow?']);
  });

  it('shows the rep\'s reply once: the 202 after the stream keeps the later state, Linq\'s copy replaces the local one', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const local = msg('local:k1', '2025-05-21T12:00:00Z', { direction: 'outbound', client_id: 'k1', status: 'sending', text: 'Friday works' });
    const sent = { ...local, status: 'sent' as const };
    inbox.dispatch('linq_inbox.outbox_sent', JSON.stringify({ seq: 6, event_id: 'o1', event_type: 'linq_inbox.outbox_sent', created_at: null, message: sent }), '6');
    inbox.showOwn(local);
    const own = () => inbox.thread('c1').items.filter((i) => i.kind === 'message' && i.client_id === 'k1');
    expect(own().map((m) => m.kind === 'message' && m.status), 'the late 202 does not undo "sent"').toEqual(['sent']);
    const linq = { ...sent, id: 'L-1', status: 'delivered' as const };
    inbox.dispatch('message.delivered', JSON.stringify({ seq: 7, event_id: 'w1', event_type: 'message.delivered', created_at: null, message: linq }), '7');
    expect(own().map((m) => m.id), 'one bubble, under Linq\'s id').toEqual(['L-1']);
  });

  it('marks a fetched message as caught up and follows a catch-up pass on the status', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    const m = msg('f1', '2025-05-21T12:00:00Z', { text: 'Sent while you were away' });
    inbox.dispatch('linq_inbox.fetched_message', JSON.stringify({ seq: 6, event_id: 'fetched:v3:f1:ab', event_type: 'linq_inbox.fetched_message',
      created_at: null, message: m, chat: chat('c1', '2025-05-21T12:00:00Z', { last_message: m, unread_count: 2 }) }), '6');
    expect(inbox.activity[0]?.text, 'worded like the webhook would have been').toBe('María López: Sent while you were away');
    expect(inbox.activity[0]?.caughtUp, 'and marked as caught up').toBe(true);
    expect(inbox.chats[0]?.unread_count, 'a fetched unread message counts as unread').toBe(2);
    const sync = { state: 'running', trigger: 'demand', started_at: null, finished_at: null, fetched: 40, new: 3,
      chats_done: 2, chats_total: 5, away: 3, away_chats: 1, error: null };
    inbox.dispatch('sync', JSON.stringify({ event_type: 'sync', sync }), null);
    expect(inbox.status?.sync?.chats_done, 'progress reaches the status without a refetch').toBe(2);
    expect(inbox.lastSeq, 'a sync event has no place in the log').toBe(6);
  });

  it('shows the same timeline after a reload as it did live, for every kind of item', async () => {
    // The items as the stream sends them; `/api/activity` answers the same items after a reload,
    // each with the newest views (here: the edited message, the renamed contact, the read).
    const at = (m: number) => `2025-05-21T12:${String(m).padStart(2, '0')}:00Z`;
    const hi = msg('m1', at(1), { text: 'Wednesday?' });
    const edited = { ...hi, text: 'Thursday?', edited_at: at(3) };
    const mine = msg('m2', at(2), { direction: 'outbound', from_phone: '+15559990000', from_name: null, text: 'Sure' });
    const failed = { ...msg('m3', at(4), { direction: 'outbound' as const, text: 'Still there?' }), status: 'failed' as const, failure: { code: '4001', detail_code: null, reason: 'Recipient not on iMessage', failed_at: at(4) } };
    const ann = { id: 'k1', first_name: 'Ann', last_name: null, full_name: 'Ann', email: null, phone_number: '+15550000077', company: null, title: null, location: null, image_url: null, created_at: null, created_at_original: null, updated_at: null, updated_at_original: null, owner: null, chat_id: null };
    const like = { id: 'r1', message_id: 'm2', chat_id: 'c1', reaction: 'like', from: '+15550000001', from_name: 'María López', is_from_me: false, message_text: 'Sure', sent_at: at(5) };
    const line = { kind: 'chat_event' as const, id: 'ce1', chat_id: 'c1', action: 'group_name', actor: '+15550000001', actor_name: 'María López', old_value: null, new_value: 'Deal room', sent_at: at(6), sent_at_original: null };
    const stream: [string, Partial<StreamEvent>][] = [
      ['message.received', { message: hi, chat: chat('c1', at(1), { last_message: hi }) }],
      ['typing_indicator.received', { chat_id: 'c1', typing: { chat_id: 'c1', typing: [{ identifier: '+15550000001', name: 'María López' }] } }],
      ['message.sent', { message: mine }],
      ['message.edited', { message: edited }],
      ['message.failed', { message: failed, chat_id: 'c1' }],
      ['reaction.received', { reaction: like, message: { ...mine, reactions: [{ id: 'r1', reaction: 'like', from: '+15550000001', from_name: 'María López', is_from_me: false, sent_at: at(5) }] } }],
      ['message.read', { message: { ...mine, read_at: at(6) }, chat_id: 'c1' }],
      ['call.completed', { call: call('call1', { missed: true, answered_by: null, status: 'no-answer' }) }],
      ['contact.created', { contact: ann }],
      ['contact.updated', { contact: { ...ann, full_name: 'Ann Lee' } }],
      ['participant.added', { membership: member('mb1', at(7)), memberships: [member('mb1', at(7))] }],
      ['chat.group_name_updated', { chat_event: line, chat_id: 'c1' }],
      ['message.delivered', { message: { ...mine, status: 'delivered', delivered_at: at(8) } }],
      ['phone_number.status_updated', {}],
    ];
    const items: ActivityItem[] = stream.map(([event, data], i) => ({
      seq: 10 + i, event, data: { seq: 10 + i, event_id: `e${10 + i}`, event_type: event, created_at: at(i), received_at: at(i), ...data },
    }));
    const routes = baseRoutes({ '/api/activity': { items: [], has_more: false, projected_seq: 9 } });
    fakeApi(routes);
    const live = new Inbox();
    await loaded(live);
    for (const it of items) live.dispatch(it.event, JSON.stringify(it.data), String(it.seq));

    // The reload: the page holds every item but typing, newest first, each with today's views.
    const now = (d: StreamEvent): StreamEvent => ({
      ...d,
      ...(d.message?.id === 'm1' ? { message: edited } : {}),
      ...(d.message?.id === 'm2' ? { message: { ...mine, read_at: at(6), status: 'delivered', delivered_at: at(8), reactions: stream[5]?.[1].message?.reactions ?? [] } } : {}),
      ...(d.contact?.id === 'k1' ? { contact: { ...ann, full_name: 'Ann Lee' } } : {}),
    });
    const page = items.filter((i) => !i.event.includes('typing')).reverse().map((i) => ({ ...i, data: now(i.data) }));
    fakeApi(baseRoutes({ '/api/activity': { items: page, has_more: false, projected_seq: 23 }, '/api/contacts': { contacts: [{ ...ann, full_name: 'Ann Lee' }] } }));
    const reloaded = new Inbox();
    await loaded(reloaded);

    expect(reloaded.activity, 'the reload reads entry for entry as the live timeline').toEqual(live.activity);
    expect(live.activity.map((e) => e.text), 'one entry per item that says something, newest first').toEqual([
      'Event phone_number.status_updated received',
      'María López named the group “Deal room”',
      'Amara Obi was added to a group chat',
      'Contact updated: Ann Lee',
      'New contact: Ann Lee',
      'Missed call from Koji Tanaka',
      "Chat c1 read 'Sure'",
      "María López reacted 👍 to 'Sure'",
      'Not delivered to Chat c1: Recipient not on iMessage',
      "María López edited: 'Thursday?'",
      'You to Chat c1: Sure',
      'María López: Thursday?',
    ]);
    expect(reloaded.lastSeq, 'the stream resumes after the log the page was read from').toBe(23);
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

  it('says why a chat could not be marked read, keeps it unread, and clears the notice once it goes through', async () => {
    const sentence = 'The disk is full: new changes cannot be saved until space is freed.';
    const routes: Record<string, unknown> = baseRoutes({ 'POST /api/chats/c1/read': new Refusal(503, sentence) });
    fakeApi(routes);
    const inbox = new Inbox();
    await loaded(inbox);
    await inbox.markRead('c1');
    expect(inbox.chat('c1')?.unread_count, 'the refused mark leaves the chat unread').toBe(1);
    expect(inbox.thread('c1').readError, "the thread shows the engine's sentence").toBe(sentence);
    routes['POST /api/chats/c1/read'] = { chat_id: 'c1', unread_count: 0 };
    await inbox.markRead('c1');
    expect(inbox.chat('c1')?.unread_count).toBe(0);
    expect(inbox.thread('c1').readError, 'the notice goes once the mark went through').toBeNull();
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

  it("shows the engine's answer to a reaction at once, unless the stream already brought a newer state", async () => {
    const sending = msg('1', '2025-05-21T10:00:00Z', { reactions: [{ id: 'k', reaction: 'love', from: null, from_name: null, is_from_me: true, sent_at: null, status: 'sending', operation: 'add' }] });
    let hold: (() => void) | null = null;
    const calls = fakeApi(baseRoutes({ 'POST /api/messages/1/reactions': () => sending }));
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.openChat('c1');
    await vi.waitFor(() => expect(inbox.thread('c1').loaded).toBe(true));
    const first = inbox.thread('c1').items[0];
    if (first?.kind !== 'message') throw new Error('the thread shows the message');
    await inbox.react(first, 'love');
    expect(calls.find((c) => c.method === 'POST' && c.url.includes('/reactions'))?.body).toMatchObject({ reaction: 'love', operation: 'add' });
    const shown = inbox.thread('c1').items[0];
    expect(shown?.kind === 'message' ? shown.reactions[0]?.status : null, 'the answer shows at once').toBe('sending');

    // The stream says Linq took it before the answer to a second pick arrives: the answer is older.
    const settled = msg('1', '2025-05-21T10:00:00Z', { reactions: [{ id: 'k', reaction: 'love', from: null, from_name: null, is_from_me: true, sent_at: null }] });
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>((resolve) => {
      hold = () => resolve(new Response(JSON.stringify(sending), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    })));
    const picked = inbox.react(first, 'love');
    inbox.dispatch('linq_inbox.outbox_sent', JSON.stringify({ seq: 9, event_type: 'linq_inbox.outbox_sent', message: settled }), '9');
    await vi.waitFor(() => expect(hold).not.toBeNull());
    (hold as unknown as () => void)();
    await picked;
    const after = inbox.thread('c1').items[0];
    expect(after?.kind === 'message' ? after.reactions[0]?.status : 'x', "the stream's newer state stays").toBeUndefined();
  });

  it('follows a provisional chat to the id Linq gave it', async () => {
    fakeApi(baseRoutes());
    const inbox = new Inbox();
    await loaded(inbox);
    inbox.chats = [...inbox.chats, chat('new:k1', '2025-05-21T12:00:00Z')];
    const named = msg('m1', '2025-05-21T12:00:00Z', { chat_id: 'c-sam', client_id: 'k1', direction: 'outbound' });
    inbox.dispatch('linq_inbox.outbox_chat_named', JSON.stringify({ seq: 9, event_type: 'linq_inbox.outbox_chat_named', message: named,
      chat: chat('c-sam', '2025-05-21T12:00:00Z') }), '9');
    expect(inbox.renamed['new:k1'], 'where the open thread goes').toBe('c-sam');
    expect(inbox.chats.map((c) => c.chat_id), 'one row for the chat').toEqual(['c-sam', 'c2', 'c1']);
  });

  it('follows an inbox being derived again from its log, then reads the lists again', async () => {
    vi.useFakeTimers();
    let projected = 400;
    let chatsRead = 0;
    const calls = fakeApi(baseRoutes({
      '/api/status': () => ({ ...status, log_seq: 1000, projected_seq: projected,
        projection: { lag: 1000 - projected, max_lag: 200000, failed: 0, history_through: 1000 } }),
      '/api/chats': () => {
        chatsRead += 1;
        return { chats: [chat('c1', '2025-05-21T10:00:00Z')], has_more: false };
      },
    }));
    const inbox = new Inbox();
    await loaded(inbox);
    expect(inbox.rederiving, 'the progress, in log rows').toEqual({ done: 400, total: 1000 });
    expect(chatsRead).toBe(1);

    projected = 700;
    await vi.advanceTimersByTimeAsync(REDERIVE_POLL_MS);
    expect(inbox.rederiving?.done, 'polled: the stream does not announce history').toBe(700);
    expect(chatsRead, 'no reload while it runs').toBe(1);

    projected = 1000;
    await vi.advanceTimersByTimeAsync(REDERIVE_POLL_MS);
    expect(inbox.rederiving, 'done').toBeNull();
    await vi.waitFor(() => expect(chatsRead, 'the whole inbox is read again once it is done').toBe(2));
    const polls = calls.filter((c) => c.url.startsWith('/api/status')).length;
    await vi.advanceTimersByTimeAsync(5 * REDERIVE_POLL_MS);
    expect(calls.filter((c) => c.url.startsWith('/api/status')).length, 'and the polling stops').toBe(polls);
    inbox.stop();
  });
});
