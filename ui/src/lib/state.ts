// The inbox's state rules as pure functions: how chats, threads, calls and the activity
// timeline change when data arrives. The live store (`inbox.svelte.ts`) only wires these to
// fetches and the event stream, so every rule here is unit-tested without a browser.

import { chatName, clip, dayLabel, duration, parseTime, reactionEmoji, sameDay, clock } from './format';
import type {
  ActivityItem, Call, ChatEvent, ChatSummary, Contact, Membership, Message, RawEvent, StreamEvent, ThreadItem,
} from './types';
import { chatEventText, deliveryLines, reactionGlyph } from './v3';

// ---------- chats ----------

function time(iso: string | null | undefined): number {
  return parseTime(iso)?.getTime() ?? 0;
}

export function chatActivity(c: ChatSummary): number {
  return Math.max(time(c.last_activity_at), time(c.last_message?.sent_at));
}

/** Newest activity first; ties keep a stable order by id. */
export function sortChats(chats: ChatSummary[]): ChatSummary[] {
  return [...chats].sort((a, b) => chatActivity(b) - chatActivity(a) || a.chat_id.localeCompare(b.chat_id));
}

/** Replaces (or adds) one chat and keeps the list ordered. */
export function upsertChat(chats: ChatSummary[], chat: ChatSummary): ChatSummary[] {
  const rest = chats.filter((c) => c.chat_id !== chat.chat_id);
  rest.push(chat);
  return sortChats(rest);
}

export function patchChat(chats: ChatSummary[], chatId: string, patch: Partial<ChatSummary>): ChatSummary[] {
  return chats.map((c) => (c.chat_id === chatId ? { ...c, ...patch } : c));
}

/** The filter box and the by-number filter of the chat list. */
export function filterChats(chats: ChatSummary[], query: string, myNumber: string | null): ChatSummary[] {
  const q = fold(query.trim());
  return chats.filter((c) => {
    if (myNumber && !c.my_numbers.includes(myNumber)) return false;
    if (!q) return true;
    const hay = [chatName(c), c.last_message?.text ?? '', ...c.handles.map((h) => `${h.name} ${h.identifier}`)]
      .map(fold)
      .join('\n');
    return q.split(/\s+/u).every((w) => hay.includes(w));
  });
}

/** Lower case without accents, so "maria" finds "María". */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** `items` in runs of `size` (the last may be shorter), in order. */
export function chunks<T>(items: T[], size: number): T[][] {
  const step = Math.max(1, size);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += step) out.push(items.slice(i, i + step));
  return out;
}

/** Every Linq number the rep has across chats, sorted. */
export function myNumbers(chats: ChatSummary[]): string[] {
  return [...new Set(chats.flatMap((c) => c.my_numbers))].sort();
}

export function totalUnread(chats: ChatSummary[]): number {
  return chats.reduce((n, c) => n + (c.muted ? 0 : c.unread_count), 0);
}

// ---------- threads ----------

function itemKey(i: ThreadItem): string {
  return `${i.kind}:${i.id}`;
}

/** Where a line sits among lines of the same time: a message's `tie`, 0 for a system line. */
function tieOf(i: ThreadItem): number {
  return i.kind === 'message' ? i.tie : 0;
}

/** The engine's thread order, `(sent_at, tie, id)`, so live items land where a reload puts them. */
export function itemOrder(a: ThreadItem, b: ThreadItem): number {
  return time(a.sent_at) - time(b.sent_at) || tieOf(a) - tieOf(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Merges items into a thread: the newer copy of an item wins, the result is oldest first.
 * Fast path for the common live case, one new item after the last one.
 */
export function mergeItems(existing: ThreadItem[], incoming: ThreadItem[]): ThreadItem[] {
  if (incoming.length === 0) return existing;
  const last = existing[existing.length - 1];
  if (incoming.length === 1 && last) {
    const item = incoming[0] as ThreadItem;
    const key = itemKey(item);
    if (itemOrder(last, item) <= 0 && itemKey(last) !== key && !existing.some((e) => itemKey(e) === key)) {
      return [...existing, item];
    }
  }
  // Fast path for an older page: everything arrives before the first item, no overlap.
  const first = existing[0];
  if (first) {
    const keys = new Set(incoming.map(itemKey));
    const sortedIn = [...incoming].sort(itemOrder);
    const newest = sortedIn[sortedIn.length - 1] as ThreadItem;
    const overlap = existing.slice(0, incoming.length + 1).some((e) => keys.has(itemKey(e)));
    if (!overlap && keys.size === incoming.length && itemOrder(newest, first) <= 0) return [...sortedIn, ...existing];
  }
  const byKey = new Map<string, ThreadItem>();
  for (const e of existing) byKey.set(itemKey(e), e);
  for (const i of incoming) byKey.set(itemKey(i), i);
  return [...byKey.values()].sort(itemOrder);
}

/** The id of the first unread inbound message, given how many are unread at the end. */
export function firstUnreadId(items: ThreadItem[], unread: number): string | null {
  if (unread <= 0) return null;
  let seen = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i] as ThreadItem;
    if (it.kind === 'message' && it.direction === 'inbound') {
      seen++;
      if (seen === unread) return it.id;
    }
  }
  return null;
}

/** The last outbound message that Linq reported read: it carries the "Read 3:35 PM" line. */
export function lastReadOutbound(items: ThreadItem[]): Message | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i] as ThreadItem;
    if (it.kind === 'message' && it.direction === 'outbound' && it.read_at) return it;
  }
  return null;
}

export type Row =
  | { type: 'day'; key: string; label: string }
  | { type: 'unread'; key: string }
  | { type: 'system'; key: string; item: Membership | ChatEvent; text: string }
  | {
      type: 'message';
      key: string;
      item: Message;
      first: boolean; // first of a sender group: shows the sender name in groups
      last: boolean; // last of a sender group: shows the avatar, the tail and the time
      showName: boolean;
      readLine: string | null;
      /** "Delivered 3:35 PM", or "Not delivered: …" (API v3). */
      deliveryLine?: { text: string; failed: boolean } | null;
    }
  | { type: 'typing'; key: string; names: string };

const GROUP_GAP_MS = 5 * 60_000;

function sender(m: Message): string {
  return m.direction === 'outbound' ? 'me' : `in:${m.from_phone ?? m.from_name ?? ''}`;
}

export function membershipText(m: Membership, chatTitle?: string): string {
  const who = m.name || m.identifier || 'Someone';
  const where = chatTitle ? ` ${m.action === 'removed' ? 'from' : 'to'} ${chatTitle}` : '';
  if (m.action === 'added') return `${who} was added${where}`;
  if (m.action === 'removed') return `${who} left or was removed${where}`;
  return `${who}: ${m.action}${where}`;
}

/** The rows a thread shows: day separators, the "new messages" divider, sender groups, receipts. */
export function buildRows(
  items: ThreadItem[],
  opts: { isGroup: boolean; unreadFromId: string | null; typingNames: string | null; now?: Date },
): Row[] {
  const rows: Row[] = [];
  const readMsg = lastReadOutbound(items);
  const delivery = deliveryLines(items);
  let prevDay: Date | null = null;
  let prev: Message | null = null;
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as ThreadItem;
    const d = parseTime(it.sent_at);
    if (d && (!prevDay || !sameDay(prevDay, d))) {
      rows.push({ type: 'day', key: `day:${d.toDateString()}:${it.id}`, label: dayLabel(d, opts.now) });
      prevDay = d;
      prev = null;
    }
    if (opts.unreadFromId && it.kind === 'message' && it.id === opts.unreadFromId) {
      rows.push({ type: 'unread', key: 'unread' });
      prev = null;
    }
    if (it.kind === 'membership') {
      rows.push({ type: 'system', key: `membership:${it.id}`, item: it, text: membershipText(it) });
      prev = null;
      continue;
    }
    if (it.kind === 'chat_event') {
      rows.push({ type: 'system', key: `chat_event:${it.id}`, item: it, text: chatEventText(it) });
      prev = null;
      continue;
    }
    const first =
      !prev || sender(prev) !== sender(it) || time(it.sent_at) - time(prev.sent_at) > GROUP_GAP_MS;
    if (!first) {
      const before = rows[rows.length - 1];
      if (before && before.type === 'message') before.last = false;
    }
    const readAt = readMsg && readMsg.id === it.id ? parseTime(it.read_at) : null;
    rows.push({
      type: 'message',
      key: `message:${it.id}`,
      item: it,
      first,
      last: true,
      showName: opts.isGroup && it.direction === 'inbound' && first,
      readLine: readAt ? `Read ${clock(readAt)}` : null,
      deliveryLine: delivery.get(it.id) ?? null,
    });
    prev = it;
  }
  if (opts.typingNames !== null) rows.push({ type: 'typing', key: 'typing', names: opts.typingNames });
  return rows;
}

export function typingNames(chat: Pick<ChatSummary, 'typing'>): string | null {
  if (chat.typing.length === 0) return null;
  const names = chat.typing.map((t) => t.name || t.identifier).filter((n): n is string => !!n);
  return names.length ? names.join(', ') : 'Someone';
}

// ---------- calls and contacts ----------

export function sortCalls(calls: Call[]): Call[] {
  return [...calls].sort((a, b) => time(b.start_time ?? b.end_time) - time(a.start_time ?? a.end_time));
}

export function upsertCall(calls: Call[], call: Call): Call[] {
  return sortCalls([...calls.filter((c) => c.id !== call.id), call]);
}

export function contactName(c: Contact): string {
  return (
    c.full_name?.trim() ||
    [c.first_name, c.last_name].filter(Boolean).join(' ').trim() ||
    c.phone_number ||
    c.email ||
    `Contact ${c.id}`
  );
}

export function sortContacts(contacts: Contact[]): Contact[] {
  return [...contacts].sort((a, b) => fold(contactName(a)).localeCompare(fold(contactName(b))));
}

export function upsertContact(contacts: Contact[], contact: Contact): Contact[] {
  return sortContacts([...contacts.filter((c) => c.id !== contact.id), contact]);
}

export function callSummary(c: Call, name: string): string {
  const len = duration(c.recording?.duration ?? c.duration);
  // Whether a call was missed is the engine's rule (`Call.missed`), never worked out here.
  if (c.missed) {
    return c.voicemail ? `Missed call from ${name}: voicemail${len ? `, ${len}` : ''}` : `Missed call from ${name}`;
  }
  if (c.voicemail) return `Voicemail from ${name}${len ? `, ${len}` : ''}`;
  const dir = c.direction === 'outbound' ? `Call to ${name}` : `Call from ${name}`;
  return len ? `${dir}, ${len}` : dir;
}

// ---------- activity ----------

export interface ActivityEntry {
  seq: number;
  at: string | null;
  type: string;
  icon: 'message' | 'sent' | 'reaction' | 'read' | 'call' | 'missed' | 'contact' | 'member' | 'event';
  actor: string | null;
  text: string;
  href: string;
  /** Fetched by a catch-up pass: the webhook for it never came (the app was away). */
  caughtUp?: boolean;
}

/** Resolves a phone number or handle to the best name the inbox knows. */
export type NameOf = (identifier: string | null | undefined, fallback?: string | null) => string;

function quote(text: string | null | undefined): string {
  return text ? `'${clip(text, 60)}'` : 'a message';
}

function messageText(text: string | null | undefined, attachments: { filename: string | null }[] | undefined): string {
  if (text && text.trim()) return clip(text, 140);
  const n = attachments?.length ?? 0;
  if (n === 1) return `sent ${attachments?.[0]?.filename ?? 'an attachment'}`;
  if (n > 1) return `sent ${n} attachments`;
  return '(empty message)';
}

function chatHref(chatId: string | null | undefined, messageId?: string | null): string {
  if (!chatId) return '#/chats';
  return messageId ? `#/chats/${encodeURIComponent(chatId)}/m/${encodeURIComponent(messageId)}` : `#/chats/${encodeURIComponent(chatId)}`;
}

/**
 * The timeline entry for a stream item: the one rule for a live item and for a page of
 * `/api/activity` (the same items), so the timeline reads the same after a reload. Names and
 * chat titles are looked up when the entry is worded, from what the inbox knows then.
 */
export function activityFromStream(ev: StreamEvent, nameOf: NameOf, chatTitle: (id: string) => string | null): ActivityEntry | null {
  const base = { seq: ev.seq ?? 0, at: ev.created_at ?? ev.received_at ?? null, type: ev.event_type ?? '' };
  const m = ev.message ?? null;
  switch (ev.event_type) {
    case 'linq_inbox.fetched_message':
    case 'message.received':
    case 'message.sent': {
      if (!m) return null;
      const caughtUp = ev.event_type === 'linq_inbox.fetched_message';
      const inbound = caughtUp ? m.direction === 'inbound' : ev.event_type === 'message.received';
      const who = inbound ? nameOf(m.from_phone, m.from_name) : 'You';
      const title = chatTitle(m.chat_id);
      const text = messageText(m.text, m.attachments);
      return {
        ...base,
        icon: inbound ? 'message' : 'sent',
        actor: who,
        text: inbound ? `${who}: ${text}` : `You${title ? ` to ${title}` : ''}: ${text}`,
        href: chatHref(m.chat_id, m.id),
        ...(caughtUp ? { caughtUp } : {}),
      };
    }
    case 'message.read': {
      const title = m ? chatTitle(m.chat_id) : ev.chat_id ? chatTitle(ev.chat_id) : null;
      return {
        ...base,
        icon: 'read',
        actor: title,
        text: `${title ?? 'Someone'} read ${m && m.text ? quote(m.text) : 'your message'}`,
        href: chatHref(m?.chat_id ?? ev.chat_id, m?.id),
      };
    }
    case 'reaction.received':
    case 'reaction.sent':
    case 'reaction.added': {
      const re = ev.reaction;
      const mine = ev.event_type === 'reaction.sent' || (ev.event_type === 'reaction.added' && !!re?.is_from_me);
      // The reaction as the message shows it (a custom emoji, a sticker), else as the event names it.
      const shown = re ? m?.reactions?.find((x) => x.id === re.id) : m?.reactions?.at(-1);
      const r = re ?? shown;
      const who = mine ? 'You' : nameOf(r?.from, r?.from_name);
      const glyph = shown ? reactionGlyph(shown) : reactionEmoji(r?.reaction ?? '');
      return {
        ...base,
        icon: 'reaction',
        actor: who,
        text: `${who} reacted ${glyph} to ${quote(m ? m.text : re?.message_text)}`,
        href: chatHref(m?.chat_id ?? re?.chat_id ?? ev.chat_id, m?.id ?? re?.message_id),
      };
    }
    case 'linq_inbox.outbox_read_refused': {
      const title = ev.chat_id ? chatTitle(ev.chat_id) : null;
      return { ...base, icon: 'event', actor: title, text: `The read receipt${title ? ` for ${title}` : ''} was not sent`, href: chatHref(ev.chat_id) };
    }
    case 'linq_inbox.outbox_read_taken':
    case 'message.delivered':
    case 'reaction.removed':
    case 'call.initiated':
    case 'call.ringing':
    case 'call.answered':
      return null;
    case 'message.failed': {
      const why = m?.failure?.reason ?? m?.failure?.code ?? null;
      const title = m ? chatTitle(m.chat_id) : null;
      return {
        ...base,
        icon: 'event',
        actor: title,
        text: `Not delivered${title ? ` to ${title}` : ''}${why ? `: ${why}` : ''}`,
        href: chatHref(m?.chat_id ?? ev.chat_id, m?.id),
      };
    }
    case 'message.edited': {
      if (!m) return null;
      const who = m.direction === 'outbound' ? 'You' : nameOf(m.from_phone, m.from_name);
      return { ...base, icon: 'message', actor: who, text: `${who} edited: ${quote(m.text)}`, href: chatHref(m.chat_id, m.id) };
    }
    case 'call.completed':
    case 'call.ended':
    case 'call.no_answer':
    case 'call.declined':
    case 'call.failed': {
      const c = ev.call;
      if (!c) return null;
      const name = nameOf(c.direction === 'outbound' ? c.to : c.from, c.direction === 'outbound' ? c.to_name : c.from_name);
      return {
        ...base,
        icon: c.missed ? 'missed' : 'call',
        actor: name,
        text: callSummary(c, name),
        href: `#/calls/${encodeURIComponent(c.id)}`,
      };
    }
    case 'contact.created':
    case 'contact.updated':
    case 'contact.deleted': {
      const c = ev.contact;
      if (ev.event_type === 'contact.deleted') {
        return { ...base, icon: 'contact', actor: null, text: 'A contact was deleted', href: '#/contacts' };
      }
      if (!c) {
        // The contact is gone since (the engine answers deleted contacts with none).
        const what = ev.event_type === 'contact.created' ? 'A contact was added' : 'A contact was updated';
        return { ...base, icon: 'contact', actor: null, text: `${what} (since deleted)`, href: '#/contacts' };
      }
      const name = contactName(c);
      return {
        ...base,
        icon: 'contact',
        actor: name,
        text: ev.event_type === 'contact.created' ? `New contact: ${name}` : `Contact updated: ${name}`,
        href: `#/contacts/${encodeURIComponent(c.id)}`,
      };
    }
    case 'participant.added':
    case 'participant.removed': {
      const all = (ev.memberships?.length ? ev.memberships : [ev.membership]).filter(
        (x): x is Membership => !!x && x.kind === 'membership',
      );
      const mem = all[0];
      if (!mem) return null;
      const title = chatTitle(mem.chat_id) ?? 'a group chat';
      const named = all.map((x) => ({ ...x, name: nameOf(x.identifier, x.name) }));
      const first = named[0] ?? mem;
      const text = named.length > 1
        ? `${named.map((x) => x.name).join(', ')} were ${mem.action === 'removed' ? 'removed from' : 'added to'} ${title}`
        : membershipText(first, title);
      return { ...base, icon: 'member', actor: first.name, text, href: chatHref(mem.chat_id) };
    }
    case 'typing_indicator.received':
    case 'typing_indicator.removed':
    case 'chat.typing_indicator.started':
    case 'chat.typing_indicator.stopped':
      return null;
    default: {
      const line = ev.chat_event?.kind === 'chat_event' ? ev.chat_event : null;
      if (line) {
        const named = { ...line, actor_name: line.actor ? nameOf(line.actor, line.actor_name) : line.actor_name };
        return { ...base, icon: 'event', actor: named.actor_name, text: chatEventText(named), href: chatHref(line.chat_id) };
      }
      return { ...base, icon: 'event', actor: null, text: `Event ${ev.event_type ?? ''} received`, href: `#/events/${base.seq}` };
    }
  }
}

/** How many stream items the timeline keeps, newest first. */
export const ACTIVITY_CAP = 500;

/** Adds items to the timeline, newest first, one per seq (the newer copy wins), capped. */
export function mergeActivity(existing: ActivityItem[], incoming: ActivityItem[], cap = ACTIVITY_CAP): ActivityItem[] {
  const bySeq = new Map<number, ActivityItem>();
  for (const e of existing) bySeq.set(e.seq, e);
  for (const e of incoming) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, cap);
}

/**
 * The timeline after a live item: the item joins it, and earlier items that show the same
 * message, call or contact take the newer copy the item carries (an edit, a read, a reaction,
 * a later call stage, a renamed or deleted contact). `/api/activity` builds every item from the
 * engine's current views, so this is what the timeline reads after a reload too.
 */
export function followActivity(items: ActivityItem[], item: ActivityItem, cap = ACTIVITY_CAP): ActivityItem[] {
  const d = item.data;
  const message = d.message ?? null;
  const call = d.call ?? null;
  const contact = d.contact ?? null;
  const gone = d.contact_deleted_id ?? null;
  const updated = items.map((old) => {
    const o = old.data;
    let data = o;
    if (message && o.message && o.message.id === message.id && o.message !== message) data = { ...data, message };
    if (message && o.reaction && o.reaction.message_id === message.id && o.reaction.message_text !== message.text) {
      data = { ...data, reaction: { ...o.reaction, message_text: message.text } };
    }
    if (call && o.call && o.call.id === call.id && o.call !== call) data = { ...data, call };
    if (contact && o.contact && o.contact.id === contact.id && o.contact !== contact) data = { ...data, contact };
    if (gone !== null && o.contact && o.contact.id === gone) data = { ...data, contact: undefined };
    return data === o ? old : { ...old, data };
  });
  return mergeActivity(updated, [item], cap);
}

/** The entries the timeline shows for its items, newest first. */
export function activityEntries(items: ActivityItem[], nameOf: NameOf, chatTitle: (id: string) => string | null): ActivityEntry[] {
  // One lookup per person and chat per wording: a timeline of 500 names few people.
  const names = new Map<string, string>();
  const named: NameOf = (identifier, fallback) => {
    const key = `${identifier ?? ''}\u0000${fallback ?? ''}`;
    let name = names.get(key);
    if (name === undefined) names.set(key, (name = nameOf(identifier, fallback)));
    return name;
  };
  const titles = new Map<string, string | null>();
  const titled = (id: string): string | null => {
    if (!titles.has(id)) titles.set(id, chatTitle(id));
    return titles.get(id) ?? null;
  };
  const out: ActivityEntry[] = [];
  for (const item of items) {
    const entry = activityFromStream({ ...item.data, seq: item.seq, event_type: item.data.event_type ?? item.event }, named, titled);
    if (entry) out.push(entry);
  }
  return out;
}

/** Copy-as-curl for a stored event: re-posts its payload, signed in the shell with the secret. */
export function curlFor(ev: RawEvent, webhookUrl: string): string {
  const body = JSON.stringify(ev.payload);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `body=${q(body)}`,
    `sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$LINQ_WEBHOOK_SECRET" | sed 's/^.*= //')`,
    `curl -sS -X POST ${q(webhookUrl)} -H 'Content-Type: application/json' -H "X-Webhook-Signature: sha256=$sig" --data-binary "$body"`,
  ].join('\n');
}
