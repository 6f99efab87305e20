// What Linq API v3 adds to a thread, as pure text rules: delivery and failure marks on the
// rep's messages, "Edited", the message a reply answers, custom-emoji and sticker reactions,
// group name and photo changes and location sharing as system lines, and number health.

import { clip, clock, parseTime, reactionEmoji } from './format';
import type { ChatEvent, Message, NumberHealth, Reaction, ThreadItem } from './types';

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
