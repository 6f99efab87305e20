import { describe, expect, it } from 'vitest';
import {
  activityEntries, activityFromStream, buildRows, callSummary, chunks, curlFor, filterChats, firstUnreadId,
  followActivity, mergeActivity, mergeItems, myNumbers, sortChats, typingNames, upsertChat, type Row,
} from './state';
import { call, chat, member, msg } from './testing/fixtures';
import type { ActivityItem, RawEvent, StreamEvent } from './types';

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
    expect(typingNames({ typing: [{ identifier: null, name: '' }] })).toBe('Someone');
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

  it('keeps the engine\'s order within a second: (sent_at, tie, id)', () => {
    // Issue 24: "9", "10", "11" in one second; "10" arrives live after "11" is shown (Linq's
    // finer time puts it between them). By time alone it was appended after "11".
    const second = '2025-05-21T21:30:00Z';
    const nine = msg('9', second, { tie: 1_763_000_000_000_100 });
    const ten = msg('10', second, { tie: 1_763_000_000_000_200 });
    const eleven = msg('11', second, { tie: 1_763_000_000_000_300 });
    expect(mergeItems([nine, eleven], [ten]).map((m) => m.id), 'a live item lands in its place').toEqual(['9', '10', '11']);
    expect(mergeItems([ten, eleven], [nine]).map((m) => m.id), 'an older page of the same second goes first').toEqual(['9', '10', '11']);
    expect(mergeItems([], [eleven, nine, ten]).map((m) => m.id), 'a page in any order is sorted').toEqual(['9', '10', '11']);
    const line = member('member-e1', second);
    expect(mergeItems([nine, ten], [line]).map((m) => m.id), 'a system line (tie 0) of the same second goes first').toEqual(['member-e1', '9', '10']);
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

    const refused = activityFromStream({ seq: 9, event_id: 'e', event_type: 'linq_inbox.outbox_read_refused', created_at: null, chat_id: 'c1' }, nameOf, chatTitle);
    expect(refused?.text, 'a refused read receipt names its chat').toBe('The read receipt for María López was not sent');
    expect(refused?.href).toBe('#/chats/c1');
    expect(activityFromStream({ seq: 10, event_id: 'e', event_type: 'linq_inbox.outbox_read_taken', created_at: null, chat_id: 'c1' }, nameOf, chatTitle), 'a mark that went through is not news').toBeNull();
    expect(activityFromStream({ seq: 7, event_id: 'e', event_type: 'typing_indicator.received', created_at: null }, nameOf, chatTitle), 'typing is not activity').toBeNull();
    expect(activityFromStream({ seq: 8, event_id: 'e', event_type: 'chat.created', created_at: null }, nameOf, chatTitle)?.href, 'unknown types open the event log').toBe('#/events/8');
  });

  it('describes the items of an activity page with the words of the live stream', () => {
    // What `/api/activity` answers after a reload: the engine's own views, never a payload.
    const item = (seq: number, event: string, data: Partial<StreamEvent>): ActivityItem => ({
      seq, event, data: { seq, event_id: `e${seq}`, event_type: event, created_at: '2025-05-21T21:30:00Z', received_at: '2025-05-21T21:30:01Z', ...data },
    });
    const zoe = msg('1', '2025-05-21T21:30:00Z', { text: 'Hi there', from_phone: '+1999', from_name: 'Zoe Field' });
    const deal = msg('5', '2025-05-21T21:00:00Z', { text: 'Deal?', direction: 'outbound' });
    const like = { id: 'r1', message_id: '5', chat_id: 'c1', reaction: 'like', from: '+15550000002', from_name: null, is_from_me: false, message_text: 'Deal?', sent_at: null };
    const missed = call('3', { from: '+15550000002', status: 'no-answer', answered_by: null, voicemail: true, missed: true, duration: 40 });
    const page = [
      item(4, 'call.completed', { call: missed }),
      item(3, 'participant.added', { membership: member('x', '2025-05-21T15:00:00Z', { identifier: '+1777' }) }),
      item(2, 'reaction.received', { reaction: like, message: deal }),
      item(1, 'message.received', { message: zoe }),
    ];
    expect(activityEntries(page, nameOf, chatTitle).map((e) => e.text)).toEqual([
      'Missed call from Priya Raman: voicemail, 40 s',
      'Amara Obi was added to Renewal team',
      "Priya Raman reacted 👍 to 'Deal?'",
      'Zoe Field: Hi there',
    ]);
    for (const it of page) {
      expect(activityEntries([it], nameOf, chatTitle), `${it.event} reads as the live item does`).toEqual([
        activityFromStream(it.data, nameOf, chatTitle),
      ]);
    }
    expect(activityEntries(page, nameOf, chatTitle)[3]?.at, 'the entry is dated by the vendor time').toBe('2025-05-21T21:30:00Z');
  });

  it('missed calls are the engine\'s call, not a rule of the UI', () => {
    const unanswered = call('3', { status: 'no-answer', answered_by: null, missed: false });
    expect(callSummary(unanswered, 'Koji'), 'an inbound call the engine did not call missed').toBe('Call from Koji, 5 min 30 s');
    expect(callSummary({ ...unanswered, missed: true }, 'Koji'), 'the engine says missed').toBe('Missed call from Koji');
  });

  it('words earlier entries with the newest copy of what they show, as a reload does', () => {
    const item = (seq: number, event: string, data: Partial<StreamEvent>): ActivityItem => ({
      seq, event, data: { seq, event_id: `e${seq}`, event_type: event, created_at: null, received_at: '2025-05-21T21:30:01Z', ...data },
    });
    const before = msg('9', '2025-05-21T15:00:00Z', { text: 'Wednesday?' });
    const after = { ...before, text: 'Thursday?', edited_at: '2025-05-21T15:01:00Z' };
    let items: ActivityItem[] = [];
    items = followActivity(items, item(1, 'message.received', { message: before }));
    items = followActivity(items, item(2, 'message.edited', { message: after }));
    expect(activityEntries(items, nameOf, chatTitle).map((e) => e.text), 'the message entry shows the edited text').toEqual([
      "María López edited: 'Thursday?'",
      'María López: Thursday?',
    ]);
    const ann = { id: 'k1', first_name: 'Ann', last_name: null, full_name: 'Ann', email: null, phone_number: '+1', company: null, title: null, location: null, image_url: null, created_at: null, created_at_original: null, updated_at: null, updated_at_original: null, owner: null, chat_id: null };
    items = followActivity(items, item(3, 'contact.created', { contact: ann }));
    items = followActivity(items, item(4, 'contact.updated', { contact: { ...ann, full_name: 'Ann Lee' } }));
    expect(activityEntries(items, nameOf, chatTitle)[1]?.text, 'a created contact shows its newest name').toBe('New contact: Ann Lee');
    items = followActivity(items, item(5, 'contact.deleted', { contact_deleted_id: 'k1' }));
    expect(activityEntries(items, nameOf, chatTitle).slice(0, 3).map((e) => e.text), 'a deleted contact leaves no name behind').toEqual([
      'A contact was deleted', 'A contact was updated (since deleted)', 'A contact was added (since deleted)',
    ]);
  });

  it('keeps one entry per seq, newest first', () => {
    const e = (seq: number): ActivityItem => ({ seq, event: 't', data: { seq, event_type: 't' } });
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
    const ev: RawEvent = { seq: 1, event_id: 'e', event_type: 'message.received', created_at: null, created_at_original: null, received_at: '', signature: 'raw', payload: { text: "it's" }, projection_error: null };
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
