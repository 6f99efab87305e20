import { describe, expect, it } from 'vitest';
import {
  activityFromRaw, activityFromStream, buildRows, callSummary, chunks, curlFor, filterChats, firstUnreadId,
  mergeActivity, mergeItems, myNumbers, sortChats, typingNames, upsertChat, type Row,
} from './state';
import { call, chat, member, msg } from './testing/fixtures';
import type { RawEvent } from './types';

const nameOf = (id: string | null | undefined, fallback?: string | null) =>
  ({ '+15550000002': 'Priya Raman' })[id ?? ''] ?? fallback ?? id ?? 'Unknown';
const chatTitle = (id: string) => ({ g1: 'Renewal team', c1: 'María López' })[id] ?? null;

describe('chat list', () => {
  it('keeps newest activity first when a chat changes', () => {
    const list = sortChats([chat('a', '2025-01-01T10:00:00Z'), chat('b', '2025-01-02T10:00:00Z')]);
    expect(list.map((c) => c.chat_id)).toEqual(['b', 'a']);
    const next = upsertChat(list, chat('a', '2025-01-03T10:00:00Z', { unread_count: 2 }));
    expect(next.map((c) => c.chat_id), 'a new message lifts the chat to the top').toEqual(['a', 'b']);
    expect(next[0]?.unread_count).toBe(2);
    expect(next, 'no duplicate rows').toHaveLength(2);
  });

  it('filters by words, accents ignored, and by Linq number', () => {
    const chats = [
      chat('a', '2025-01-01T10:00:00Z', { title: 'María López' }),
      chat('b', '2025-01-01T10:00:00Z', { title: 'Koji Tanaka', my_numbers: ['+15550001111'], handles: [{ identifier: '+15550000003', display_name: null, is_me: false, name: 'Koji Tanaka' }] }),
    ];
    expect(filterChats(chats, 'maria', null).map((c) => c.chat_id)).toEqual(['a']);
    expect(filterChats(chats, 'LÓPEZ mar', null).map((c) => c.chat_id)).toEqual(['a']);
    expect(filterChats(chats, '', '+15550001111').map((c) => c.chat_id)).toEqual(['b']);
    expect(myNumbers(chats)).toEqual(['+15550001111', '+15559990000']);
  });

  it('splits the list into blocks that keep every chat once, in order', () => {
    const ids = Array.from({ length: 95 }, (_, i) => `c${i}`);
    const blocks = chunks(ids, 40);
    expect(blocks.map((b) => b.length)).toEqual([40, 40, 15]);
    expect(blocks.flat()).toEqual(ids);
    expect(chunks([], 40)).toEqual([]);
    expect(chunks(['a', 'b'], 0), 'a size below one still makes progress').toEqual([['a'], ['b']]);
  });

  it('names who is typing, or "Someone" when Linq did not say', () => {
    expect(typingNames({ typing: [] })).toBeNull();
    expect(typingNames({ typing: [{ identifier: null, name: null }] })).toBe('Someone');
    expect(typingNames({ typing: [{ identifier: '+1', name: 'Ann' }] })).toBe('Ann');
  });
});

describe('threads', () => {
  it('merges by id, newer copy wins, oldest first', () => {
    const a = msg('1', '2025-01-01T10:00:00Z');
    const b = msg('2', '2025-01-01T10:01:00Z');
    const b2 = { ...b, reactions: [{ id: 'r', reaction: 'love', from: '+1', from_name: null, is_from_me: false, sent_at: null }] };
    const merged = mergeItems([a, b], [b2]);
    expect(merged.map((m) => m.id)).toEqual(['1', '2']);
    expect(merged[1]?.kind === 'message' && merged[1].reactions.length, 'the reaction lands on its message').toBe(1);
    const older = mergeItems(merged, [msg('0', '2024-12-31T10:00:00Z')]);
    expect(older.map((m) => m.id), 'older pages go first').toEqual(['0', '1', '2']);
    expect(mergeItems(older, [a, a]), 'duplicates collapse').toHaveLength(3);
  });

  it('finds the first unread inbound message', () => {
    const items = [msg('1', '2025-01-01T10:00:00Z'), msg('2', '2025-01-01T10:01:00Z', { direction: 'outbound' }), msg('3', '2025-01-01T10:02:00Z'), msg('4', '2025-01-01T10:03:00Z')];
    expect(firstUnreadId(items, 2)).toBe('3');
    expect(firstUnreadId(items, 0)).toBeNull();
  });

  it('builds day separators, sender groups, the unread divider, the read line and typing', () => {
    const items = [
      msg('1', '2025-05-20T15:00:00Z'),
      msg('2', '2025-05-21T15:00:00Z', { from_phone: '+15550000002', from_name: 'Priya Raman' }),
      msg('3', '2025-05-21T15:01:00Z', { from_phone: '+15550000002', from_name: 'Priya Raman' }),
      member('m1', '2025-05-21T15:02:00Z'),
      msg('4', '2025-05-21T15:03:00Z', { direction: 'outbound', read_at: '2025-05-21T15:35:00Z' }),
      msg('5', '2025-05-21T15:04:00Z', { direction: 'outbound' }),
      msg('6', '2025-05-21T15:05:00Z'),
    ];
    const rows = buildRows(items, { isGroup: true, unreadFromId: '6', typingNames: 'María López', now: new Date('2025-05-21T18:00:00Z') });
    const kinds = rows.map((r) => (r.type === 'message' ? r.item.id : r.type));
    expect(kinds).toEqual(['day', '1', 'day', '2', '3', 'system', '4', '5', 'unread', '6', 'typing']);
    const byId = (id: string) => rows.find((r): r is Extract<Row, { type: 'message' }> => r.type === 'message' && r.item.id === id);
    expect(byId('2')?.showName, 'a group shows the sender on the first bubble').toBe(true);
    expect(byId('3')?.showName, 'not again on the next one').toBe(false);
    expect(byId('2')?.last, 'the first of two is not the last of its group').toBe(false);
    expect(byId('3')?.last).toBe(true);
    expect(byId('4')?.readLine, 'the last read outbound message carries the receipt').toMatch(/^Read \d{1,2}:35/u);
    expect(byId('5')?.readLine, 'an unread outbound message does not').toBeNull();
    const system = rows.find((r) => r.type === 'system');
    expect(system?.type === 'system' && system.text).toBe('Amara Obi was added');
  });

  it('does not show sender names in one-to-one chats', () => {
    const rows = buildRows([msg('1', '2025-05-21T15:00:00Z')], { isGroup: false, unreadFromId: null, typingNames: null });
    expect(rows.some((r) => r.type === 'message' && r.showName)).toBe(false);
  });
});

describe('activity', () => {
  it('describes stream events in words', () => {
    const m = msg('9', '2025-05-21T15:00:00Z', { text: 'Can we talk tomorrow?' });
    const e = activityFromStream({ seq: 3, event_id: 'e', event_type: 'message.received', created_at: null, message: m }, nameOf, chatTitle);
    expect(e?.text).toBe('María López: Can we talk tomorrow?');
    expect(e?.href).toBe('#/chats/c1/m/9');

    const reacted = { ...msg('8', '2025-05-21T15:00:00Z', { text: 'Sure, 10am works', direction: 'outbound' }), reactions: [{ id: 'r', reaction: 'love', from: '+15550000002', from_name: null, is_from_me: false, sent_at: null }] };
    const r = activityFromStream({ seq: 4, event_id: 'e', event_type: 'reaction.received', created_at: null, message: reacted }, nameOf, chatTitle);
    expect(r?.text).toBe("Priya Raman reacted ❤️ to 'Sure, 10am works'");

    const c = activityFromStream({ seq: 5, event_id: 'e', event_type: 'call.completed', created_at: null, call: call('7', { missed: true, voicemail: true, answered_by: null, recording: { id: 'r', url: null, duration: 40, transcription: null, summary: null } }) }, nameOf, chatTitle);
    expect(c?.text).toBe('Missed call from Koji Tanaka: voicemail, 40 s');

    const mem = activityFromStream({ seq: 6, event_id: 'e', event_type: 'participant.added', created_at: null, membership: member('x', '2025-05-21T15:00:00Z') }, nameOf, chatTitle);
    expect(mem?.text).toBe('Amara Obi was added to Renewal team');

    expect(activityFromStream({ seq: 7, event_id: 'e', event_type: 'typing_indicator.received', created_at: null }, nameOf, chatTitle), 'typing is not activity').toBeNull();
    expect(activityFromStream({ seq: 8, event_id: 'e', event_type: 'chat.created', created_at: null }, nameOf, chatTitle)?.href, 'unknown types open the event log').toBe('#/events/8');
  });

  it('describes raw stored events the same way', () => {
    const raw = (event_type: string, data: Record<string, unknown>): RawEvent => ({
      seq: 1, event_id: 'e1', event_type, created_at: '2025-05-21T21:30:00Z', received_at: '2025-05-21T21:30:01Z', signature: 'raw',
      payload: { api_version: 'v2', event_type, data } as RawEvent['payload'],
    });
    expect(activityFromRaw(raw('message.received', { id: '1', chat_id: 'c1', text: 'Hi there', from_phone: '+1999', chat_handles: [{ identifier: '+1999', display_name: 'Zoe Field', is_me: false }] }), nameOf, chatTitle)?.text).toBe('Zoe Field: Hi there');
    expect(activityFromRaw(raw('reaction.received', { reaction: 'like', chat_id: 'c1', chat_handle: { identifier: '+15550000002' }, associated_message: { id: '5', text: 'Deal?' } }), nameOf, chatTitle)?.text).toBe("Priya Raman reacted 👍 to 'Deal?'");
    expect(activityFromRaw(raw('participant.added', { chat_id: 'g1', participant: { handle: '+1777', display_name: 'Amara Obi' } }), nameOf, chatTitle)?.text).toBe('Amara Obi was added to Renewal team');
    expect(activityFromRaw(raw('call.completed', { id: '3', from: '+15550000002', to: '+1', direction: 'inbound', status: 'no-answer', answered_by: null, voicemail: true, duration: 40 }), nameOf, chatTitle)?.text).toBe('Missed call from Priya Raman: voicemail, 40 s');
  });

  it('keeps one entry per seq, newest first', () => {
    const e = (seq: number) => ({ seq, at: null, type: 't', icon: 'event' as const, actor: null, text: String(seq), href: '#' });
    expect(mergeActivity([e(1), e(3)], [e(2), e(3)]).map((a) => a.seq)).toEqual([3, 2, 1]);
    expect(mergeActivity([], [e(1), e(2), e(3)], 2).map((a) => a.seq)).toEqual([3, 2]);
  });

  it('summarises calls', () => {
    expect(callSummary(call('1'), 'Koji')).toBe('Call from Koji, 5 min 30 s');
    expect(callSummary(call('1', { direction: 'outbound' }), 'Koji')).toBe('Call to Koji, 5 min 30 s');
    expect(callSummary(call('1', { missed: true, voicemail: false, duration: 0 }), 'Koji')).toBe('Missed call from Koji');
  });
});

describe('copy as curl', () => {
  it('quotes the body for the shell, even with single quotes in it', () => {
    const ev: RawEvent = { seq: 1, event_id: 'e', event_type: 'message.received', created_at: null, received_at: '', signature: 'raw', payload: { text: "it's" } };
    const cmd = curlFor(ev, 'http://127.0.0.1:8787/webhooks/linq');
    expect(cmd).toContain(`body='{"text":"it'\\''s"}'`);
    expect(cmd).toContain("curl -sS -X POST 'http://127.0.0.1:8787/webhooks/linq'");
    expect(cmd).toContain('X-Webhook-Signature: sha256=$sig');
  });
});

describe('long threads', () => {
  it('prepends 500 pages into one ordered 100,000-message thread and builds its rows', () => {
    // Speed is measured by the browser test and `make bench`; this checks the result.
    const base = Date.parse('2020-01-01T00:00:00Z');
    const page = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => msg(`x${from + i}`, new Date(base + (from + i) * 60_000).toISOString(), { direction: i % 3 ? 'inbound' : 'outbound' }));
    let items = mergeItems([], page(99_800, 200));
    for (let p = 99_600; p >= 0; p -= 200) items = mergeItems(items, page(p, 200));
    expect(items).toHaveLength(100_000);
    expect(items[0]?.id, 'oldest first').toBe('x0');
    expect(items[99_999]?.id).toBe('x99999');
    expect(items.every((m, i) => m.id === `x${i}`), 'every page in its place').toBe(true);
    const rows = buildRows(items, { isGroup: false, unreadFromId: null, typingNames: null });
    const days = rows.filter((r) => r.type === 'day').length;
    const localDays = new Set(items.map((m) => new Date(m.sent_at ?? 0).toDateString())).size;
    expect(days, 'one separator per local day').toBe(localDays);
    expect(rows.length).toBe(100_000 + days);
  }, 60_000);
});
