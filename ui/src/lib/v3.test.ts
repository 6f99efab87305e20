import { describe, expect, it } from 'vitest';
import { activityEntries, activityFromStream, buildRows } from './state';
import { msg } from './testing/fixtures';
import type { ActivityItem, ChatEvent, NumberHealth, Reaction, StreamEvent } from './types';
import {
  chatEventText, deliveryLine, deliveryLines, healthText, numbersNeedingAttention, reactionGlyph, reactionKey,
  replyPreview,
} from './v3';

const out = (id: string, at: string, over = {}) => msg(id, at, { direction: 'outbound', from_name: null, ...over });

function event(action: string, over: Partial<ChatEvent> = {}): ChatEvent {
  return {
    kind: 'chat_event', id: `chatevent-${action}`, chat_id: 'g1', action, actor: '+15550000001',
    actor_name: 'María', old_value: null, new_value: null, sent_at: '2026-11-20T17:00:00Z', sent_at_original: null, ...over,
  };
}

function health(over: Partial<NumberHealth> = {}): NumberHealth {
  return {
    phone_number: '+17205550142', status: 'ACTIVE', reputation: 'HEALTHY', previous_status: null,
    previous_reputation: null, changed_at: '2026-11-20T17:00:00Z', changed_at_original: null, needs_attention: false, ...over,
  };
}

describe('delivery marks', () => {
  it('names the failure reason, falling back to the code', () => {
    expect(deliveryLine(out('1', '2026-11-20T17:00:00Z', {
      status: 'failed', failure: { code: '4001', detail_code: null, reason: 'Not reachable on iMessage', failed_at: 'x' },
    }))).toEqual({ text: 'Not delivered: Not reachable on iMessage', failed: true });
    expect(deliveryLine(out('1', '2026-11-20T17:00:00Z', {
      status: 'failed', failure: { code: '3007', detail_code: null, reason: null, failed_at: 'x' },
    }))?.text).toBe('Not delivered: error 3007');
  });

  it('marks nothing on inbound messages or plain sent ones', () => {
    expect(deliveryLine(msg('1', '2026-11-20T17:00:00Z', { status: 'failed' }))).toBeNull();
    expect(deliveryLine(out('1', '2026-11-20T17:00:00Z', { status: 'sent' }))).toBeNull();
  });

  it('shows every failure but "Delivered" only on the last outbound message, and not once it is read', () => {
    const failed = out('1', '2026-11-20T17:00:00Z', { status: 'failed', failure: null });
    const older = out('2', '2026-11-20T17:01:00Z', { status: 'delivered', delivered_at: '2026-11-20T17:01:02Z' });
    const last = out('3', '2026-11-20T17:02:00Z', { status: 'delivered', delivered_at: '2026-11-20T17:02:02Z' });
    const lines = deliveryLines([failed, older, last]);
    expect([...lines.keys()]).toEqual(['1', '3']);
    expect(lines.get('3')?.text).toMatch(/^Delivered /u);
    const read = { ...last, read_at: '2026-11-20T17:03:00Z', status: 'read' as const };
    expect(deliveryLines([failed, older, read]).has('3')).toBe(false);
  });

  it('reaches the thread rows', () => {
    const rows = buildRows([out('1', '2026-11-20T17:00:00Z', { status: 'failed', failure: null })], {
      isGroup: false, unreadFromId: null, typingNames: null, now: new Date('2026-11-20T18:00:00Z'),
    });
    const row = rows.find((r) => r.type === 'message');
    expect(row?.type === 'message' && row.deliveryLine).toEqual({ text: 'Not delivered', failed: true });
  });
});

describe('replies', () => {
  it('quotes the answered message with who said it', () => {
    const m = msg('2', 'x', {
      reply_to: { message_id: '1', part_index: 0, found: true, text: 'Does Thursday work?', from_name: null, direction: 'outbound' },
    });
    expect(replyPreview(m)).toEqual({ who: 'You', text: 'Does Thursday work?' });
  });

  it('says so when the answered message has not arrived', () => {
    const m = msg('2', 'x', {
      reply_to: { message_id: '1', part_index: 0, found: false, text: null, from_name: null, direction: null },
    });
    expect(replyPreview(m)?.text).toBe('Replying to an earlier message');
    expect(replyPreview(msg('3', 'x'))).toBeNull();
  });
});

describe('reactions', () => {
  const base: Reaction = { id: 'r', reaction: 'custom', from: null, from_name: null, is_from_me: false, sent_at: null, custom_emoji: '🦄' };
  it('groups custom emoji by the emoji and draws it', () => {
    expect(reactionKey(base)).toBe('custom:🦄');
    expect(reactionKey({ ...base, custom_emoji: '🎉' })).not.toBe(reactionKey(base));
    expect(reactionGlyph(base)).toBe('🦄');
    expect(reactionGlyph({ ...base, reaction: 'love', custom_emoji: null })).toBe('❤️');
    expect(reactionGlyph({ ...base, reaction: 'sticker', custom_emoji: null })).toBe('🏷️');
  });
});

describe('system lines', () => {
  it('words group renames, photo changes and location sharing', () => {
    expect(chatEventText(event('group_name', { old_value: 'Renewal', new_value: 'Renewal 2027' })))
      .toBe('María renamed the group from “Renewal” to “Renewal 2027”');
    expect(chatEventText(event('group_name', { new_value: 'Renewal' }))).toBe('María named the group “Renewal”');
    expect(chatEventText(event('group_name'))).toBe('María removed the group name');
    expect(chatEventText(event('group_icon', { new_value: 'https://x/icon.png' }))).toBe('María changed the group photo');
    expect(chatEventText(event('location_started'))).toBe('María started sharing their location');
    expect(chatEventText(event('location_stopped', { actor_name: null }))).toBe('+15550000001 stopped sharing their location');
  });

  it('become system rows in the thread, between messages', () => {
    const rows = buildRows([msg('1', '2026-11-20T17:00:00Z'), event('group_name', { new_value: 'X', sent_at: '2026-11-20T17:01:00Z' })], {
      isGroup: true, unreadFromId: null, typingNames: null, now: new Date('2026-11-20T18:00:00Z'),
    });
    const system = rows.filter((r) => r.type === 'system');
    expect(system.map((r) => r.type === 'system' && r.text)).toEqual(['María named the group “X”']);
  });

  it('show in the activity feed, and typing of API v3 does not', () => {
    const ev = { seq: 9, event_id: 'e', event_type: 'chat.group_name_updated', created_at: null, chat_event: event('group_name', { new_value: 'X' }) } as StreamEvent;
    expect(activityFromStream(ev, (id, fallback) => fallback ?? id ?? 'n', () => null)?.text).toBe('María named the group “X”');
    const typing = { seq: 10, event_id: 't', event_type: 'chat.typing_indicator.started', created_at: null } as StreamEvent;
    expect(activityFromStream(typing, () => 'n', () => null)).toBeNull();
  });
});

describe('number health', () => {
  it('names what is wrong and nothing when healthy', () => {
    expect(healthText(health())).toBeNull();
    expect(healthText(health({ status: 'FLAGGED', reputation: 'AT_RISK', needs_attention: true }))).toBe('Flagged · at risk');
    expect(healthText(health({ reputation: 'CRITICAL', needs_attention: true }))).toBe('Critical');
  });

  it('lists only the numbers needing attention', () => {
    const list = [health(), health({ phone_number: '+1', needs_attention: true, status: 'FLAGGED' })];
    expect(numbersNeedingAttention(list).map((n) => n.phone_number)).toEqual(['+1']);
    expect(numbersNeedingAttention(undefined)).toEqual([]);
  });
});

describe('stored v3 events on the activity timeline', () => {
  // A reload reads `/api/activity`: the engine's views of v3 events, never their payloads.
  const item = (seq: number, event: string, data: Partial<StreamEvent>): ActivityItem => ({
    seq, event, data: { seq, event_id: `e${seq}`, event_type: event, created_at: null, received_at: '2026-11-20T17:00:00Z', ...data },
  });

  it('reads a v3 message like a v2 one', () => {
    const m = msg('m1', '2026-11-20T17:00:00Z', { from_phone: '+1555', from_name: null, text: 'Hola', attachments: [{ id: 'a', key: 'a', filename: 'q.pdf', mime_type: null, url: null, content_type: null, error: null, local_url: null, preview: null, retrying: false, can_retry: false, size: null, state: 'pending' }] });
    expect(activityEntries([item(1, 'message.received', { message: m })], (id) => `name of ${id}`, () => null)[0]?.text).toBe('name of +1555: Hola');
  });

  it('reads a v3 custom reaction as received with its emoji, and hides delivery reports', () => {
    const unicorn = { id: 'r', message_id: 'm1', chat_id: 'c1', reaction: 'custom', from: '+1', from_name: null, is_from_me: false, message_text: null, sent_at: null };
    const reacted = msg('m1', '2026-11-20T17:00:00Z', { reactions: [{ id: 'r', reaction: 'custom', custom_emoji: '🦄', from: '+1', from_name: null, is_from_me: false, sent_at: null }] });
    const [entry] = activityEntries([item(1, 'reaction.added', { reaction: unicorn, message: reacted })], () => 'Ann', () => null);
    expect(entry?.text).toContain('🦄');
    expect(entry?.text, 'a reaction from someone else reads as theirs').toMatch(/^Ann reacted/u);
    expect(activityEntries([item(2, 'message.delivered', { message: msg('m1', '2026-11-20T17:00:00Z') })], () => 'x', () => null)).toEqual([]);
  });

  it('words a failed delivery the same after a reload', () => {
    const failed = msg('o1', '2026-11-20T17:00:00Z', {
      direction: 'outbound', status: 'failed', failure: { code: '4001', detail_code: null, reason: 'Recipient not on iMessage', failed_at: '2026-11-20T17:00:05Z' },
    });
    const [entry] = activityEntries([item(3, 'message.failed', { message: failed, chat_id: 'c1' })], () => 'x', () => 'María');
    expect(entry?.text, 'never "Event message.failed received"').toBe('Not delivered to María: Recipient not on iMessage');
  });
});
