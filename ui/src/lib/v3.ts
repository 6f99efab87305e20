// What Linq API v3 adds to a thread, as pure text rules: delivery and failure marks on the
// rep's messages, "Edited", the message a reply answers, custom-emoji and sticker reactions,
// group name and photo changes and location sharing as system lines, and number health.

import { clip, clock, parseTime, reactionEmoji } from './format';
import type { ChatEvent, JsonValue, Message, NumberHealth, RawEvent, Reaction, ThreadItem } from './types';

/** The line under an outbound message: "Not delivered: …" for a failure, else "Delivered". */
export function deliveryLine(m: Message): { text: string; failed: boolean } | null {
  if (m.direction !== 'outbound') return null;
  if (m.status === 'failed') {
    const why = m.failure?.reason?.trim() || (m.failure?.code ? `error ${m.failure.code}` : '');
    return { text: why ? `Not delivered: ${why}` : 'Not delivered', failed: true };
  }
  if (m.status === 'delivered') {
    const at = parseTime(m.delivered_at);
    return { text: at ? `Delivered ${clock(at)}` : 'Delivered', failed: false };
  }
  return null;
}

/**
 * Which messages carry a delivery line: every failed one (a rep must see each), and the last
 * outbound message when it is delivered but not yet read (the read line covers read ones).
 */
export function deliveryLines(items: ThreadItem[]): Map<string, { text: string; failed: boolean }> {
  const lines = new Map<string, { text: string; failed: boolean }>();
  let lastOutbound: Message | null = null;
  for (const it of items) {
    if (it.kind !== 'message' || it.direction !== 'outbound') continue;
    lastOutbound = it;
    const line = deliveryLine(it);
    if (line?.failed) lines.set(it.id, line);
  }
  if (lastOutbound && !lastOutbound.read_at) {
    const line = deliveryLine(lastOutbound);
    if (line && !line.failed) lines.set(lastOutbound.id, line);
  }
  return lines;
}

/** The quoted message above a reply: who said it and what (clipped), or a placeholder. */
export function replyPreview(m: Message): { who: string; text: string } | null {
  const r = m.reply_to;
  if (!r) return null;
  if (!r.found) return { who: '', text: 'Replying to an earlier message' };
  const who = r.direction === 'outbound' ? 'You' : r.from_name?.trim() || 'Them';
  return { who, text: r.text?.trim() ? clip(r.text.trim(), 90) : '(attachment)' };
}

/** How a reaction is grouped and drawn: custom emoji by the emoji, stickers as one badge. */
export function reactionKey(r: Reaction): string {
  if (r.reaction === 'custom' && r.custom_emoji) return `custom:${r.custom_emoji}`;
  return r.reaction;
}

export function reactionGlyph(r: Reaction): string {
  if (r.reaction === 'custom' && r.custom_emoji) return r.custom_emoji;
  if (r.reaction === 'sticker') return '🏷️';
  return reactionEmoji(r.reaction);
}

export function reactionLabel(r: Reaction, labels: Record<string, string>): string {
  if (r.reaction === 'custom' && r.custom_emoji) return `reacted ${r.custom_emoji} to`;
  if (r.reaction === 'sticker') return `put a sticker${r.sticker?.file_name ? ` (${r.sticker.file_name})` : ''} on`;
  return labels[r.reaction] ?? r.reaction;
}

/** The text of a v3 system line. Names and values are untrusted text, shown as text. */
export function chatEventText(e: ChatEvent): string {
  const who = e.actor_name?.trim() || e.actor?.trim() || 'Someone';
  const value = e.new_value?.trim();
  switch (e.action) {
    case 'group_name':
      if (!value) return `${who} removed the group name`;
      return e.old_value?.trim()
        ? `${who} renamed the group from “${e.old_value.trim()}” to “${value}”`
        : `${who} named the group “${value}”`;
    case 'group_icon':
      return value ? `${who} changed the group photo` : `${who} removed the group photo`;
    case 'location_started': {
      const until = parseTime(value);
      return until ? `${who} started sharing their location until ${clock(until)}` : `${who} started sharing their location`;
    }
    case 'location_stopped':
      return `${who} stopped sharing their location`;
    default:
      return `${who}: ${e.action}`;
  }
}

/** A number's health in words, e.g. "Flagged · at risk"; `null` when all is well. */
export function healthText(n: NumberHealth): string | null {
  if (!n.needs_attention) return null;
  const words = [n.status, n.reputation]
    .filter((w): w is string => !!w && !['ACTIVE', 'HEALTHY'].includes(w.toUpperCase()))
    .map((w) => w.toLowerCase().replace(/_/gu, ' '));
  const text = words.join(' · ') || 'needs attention';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The numbers that need the rep's attention, for a warning on the status screen. */
export function numbersNeedingAttention(numbers: NumberHealth[] | undefined): NumberHealth[] {
  return (numbers ?? []).filter((n) => n.needs_attention);
}

type Json = { [key: string]: JsonValue };

function o(v: JsonValue | undefined): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function s(v: JsonValue | undefined): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** v3 event types that say nothing a timeline needs (the message or call event says it). */
const QUIET_V3 = new Set([
  'message.delivered', 'reaction.removed', 'chat.typing_indicator.started', 'chat.typing_indicator.stopped',
  'call.initiated', 'call.ringing', 'call.answered',
]);

/**
 * A stored API v3 event in the v2 shape the activity timeline reads (messages, reactions), the
 * event unchanged when v2 has no such event, or `null` when it belongs on no timeline.
 */
export function v3RawAsV2(ev: RawEvent): RawEvent | null {
  const payload = o(ev.payload);
  if (payload['api_version'] !== 'v3') return ev;
  if (QUIET_V3.has(ev.event_type)) return null;
  const data = o(payload['data']);
  const inner = o(data['message']);
  const m = Object.keys(inner).length ? { ...inner, chat_id: data['chat_id'] ?? null } : data;
  switch (ev.event_type) {
    case 'message.received':
    case 'message.sent':
    case 'message.read': {
      const parts = Array.isArray(m['parts']) ? m['parts'].map(o) : [];
      const text = parts.filter((p) => p['type'] === 'text' || p['type'] === 'link').map((p) => s(p['value']) ?? '').join('\n');
      const attachments = parts.filter((p) => p['type'] === 'media').map((p) => ({ filename: s(p['filename']) }));
      const v2 = {
        id: s(m['id']),
        chat_id: s(o(m['chat'])['id']) ?? s(m['chat_id']),
        text: text || null,
        from_phone: s(o(m['sender_handle'])['handle']) ?? s(data['from_handle']) ?? s(o(data['from_handle'])['handle']),
        attachments,
      };
      return { ...ev, payload: { ...payload, data: v2 } };
    }
    case 'reaction.added': {
      const mine = data['is_from_me'] === true;
      const from = s(o(data['from_handle'])['handle']) ?? s(data['from_handle']) ?? s(data['from']);
      const kind = s(data['reaction_type']) === 'custom' ? s(data['custom_emoji']) : s(data['reaction_type']);
      const v2 = { chat_id: s(data['chat_id']), chat_message_id: s(data['message_id']), reaction: kind, chat_handle: { identifier: from } };
      return { ...ev, event_type: mine ? 'reaction.sent' : 'reaction.received', payload: { ...payload, data: v2 } };
    }
    default:
      return ev;
  }
}
