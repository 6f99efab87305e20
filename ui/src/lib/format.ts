// Pure text helpers: names, initials, times, durations, safe links, search highlights.
// Everything here treats its input as untrusted text and returns text or vetted URLs.

import type { ChatSummary, Handle } from './types';

export const REACTION_EMOJI: Record<string, string> = {
  love: '❤️',
  like: '👍',
  dislike: '👎',
  laugh: '😂',
  emphasize: '‼️',
  question: '❓',
};

export const REACTION_LABEL: Record<string, string> = {
  love: 'loved',
  like: 'liked',
  dislike: 'disliked',
  laugh: 'laughed at',
  emphasize: 'emphasized',
  question: 'questioned',
};

export function reactionEmoji(kind: string): string {
  return REACTION_EMOJI[kind] ?? kind;
}

/** The other party of a chat: the first handle that is not one of the rep's own numbers. */
export function otherHandles(chat: Pick<ChatSummary, 'handles'>): Handle[] {
  return chat.handles.filter((h) => !h.is_me);
}

/** Chat name: its title (contact or group name), else the handles' names, else the numbers. */
export function chatName(chat: Pick<ChatSummary, 'title' | 'handles' | 'members' | 'chat_id'>): string {
  const title = chat.title?.trim();
  if (title) return title;
  const others = otherHandles(chat);
  const names = others.map((h) => h.name?.trim() || h.display_name?.trim() || h.identifier).filter(Boolean);
  if (names.length > 0) return names.join(', ');
  const members = chat.members.filter((m) => !m.is_me).map((m) => m.name || m.identifier);
  if (members.length > 0) return members.join(', ');
  return `Chat ${chat.chat_id}`;
}

/** Up to two initials from a name's words; `#` for a bare number. */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s,]+/u)
    .filter((w) => /\p{L}/u.test(w));
  if (words.length === 0) return '#';
  const letter = (w: string | undefined) => w?.match(/\p{L}/u)?.[0] ?? '';
  const first = letter(words[0]);
  const last = words.length > 1 ? letter(words[words.length - 1]) : '';
  return (first + last).toUpperCase();
}

/** A stable hue (0–359) for an avatar, from its name. */
export function hue(seed: string): number {
  let h = 0;
  for (const ch of seed) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return h % 360;
}

export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// `toLocale*String` with options builds a new Intl.DateTimeFormat on every call (~0.1 ms in
// Chromium): a thread mounting a screenful of bubbles spent half its script time there. One
// formatter per set of options, made on first use (so the locale and time zone are the page's).
const formatters = new Map<string, Intl.DateTimeFormat>();
function fmt(d: Date, opts: Intl.DateTimeFormatOptions): string {
  const key = JSON.stringify(opts);
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, opts);
    formatters.set(key, f);
  }
  return f.format(d);
}

/** "3:35 PM" */
export function clock(d: Date): string {
  return fmt(d, { hour: 'numeric', minute: '2-digit' });
}

/** Day separator label: "Today", "Yesterday", "Monday", or "May 21, 2025". */
export function dayLabel(d: Date, now: Date = new Date()): string {
  if (sameDay(d, now)) return 'Today';
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (sameDay(d, y)) return 'Yesterday';
  const ageDays = (now.getTime() - d.getTime()) / 86_400_000;
  if (ageDays >= 0 && ageDays < 6) return fmt(d, { weekday: 'long' });
  return fmt(d, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Compact list time: clock today, weekday this week, else a short date. */
export function listTime(iso: string | null | undefined, now: Date = new Date()): string {
  const d = parseTime(iso);
  if (!d) return '';
  if (sameDay(d, now)) return clock(d);
  const ageDays = (now.getTime() - d.getTime()) / 86_400_000;
  if (ageDays >= 0 && ageDays < 6) return fmt(d, { weekday: 'short' });
  if (d.getFullYear() === now.getFullYear()) return fmt(d, { month: 'short', day: 'numeric' });
  return fmt(d, { year: '2-digit', month: 'numeric', day: 'numeric' });
}

export function fullTime(iso: string | null | undefined): string {
  const d = parseTime(iso);
  return d ? fmt(d, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function ago(iso: string | null | undefined, now: Date = new Date()): string {
  const d = parseTime(iso);
  if (!d) return 'never';
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  const days = Math.round(s / 86_400);
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** "40 s", "5 min 30 s", "1 h 2 min". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** The URL itself when it is an absolute `http:`/`https:` URL, else null. Nothing else is ever a link. */
export function safeHref(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return null;
  }
  return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
}

/** True only for `https:` URLs: the one scheme loaded inline (images, audio). */
export function isHttps(raw: string | null | undefined): boolean {
  const href = safeHref(raw);
  return href !== null && href.startsWith('https:');
}

/** A file size as people read it, in the engine's units (1 MB = 1,000,000 bytes). */
export function fileSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    value /= 1000;
    unit = u;
    if (value < 1000) break;
  }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/u, '') : Math.round(value)} ${unit}`;
}

/**
 * An inline image's alt text: its caption (the message's text) when it has one, else its file
 * name, else "Image"; bounded, since a screen reader reads all of it.
 */
export function imageAlt(filename: string | null | undefined, caption: string | null | undefined): string {
  const said = caption?.trim() || filename?.trim();
  return said ? `Image: ${clip(said, 120)}` : 'Image';
}

/** Short kind label for an attachment card: "PDF", "PNG image", "File". */
export function fileKind(mime: string | null | undefined, filename: string | null | undefined): string {
  const ext = filename?.match(/\.([a-z0-9]{1,8})$/iu)?.[1]?.toUpperCase();
  if (mime?.startsWith('image/')) return `${ext ?? mime.slice(6).toUpperCase()} image`;
  if (mime?.startsWith('audio/')) return 'Audio';
  if (mime?.startsWith('video/')) return 'Video';
  if (mime === 'application/pdf') return 'PDF';
  return ext ?? (mime || 'File');
}

export interface TextPart {
  text: string;
  href: string | null;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'\u202A-\u202E\u2066-\u2069]+/giu;

/** Splits text into plain parts and `http(s):` links. `javascript:` and friends stay text. */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let raw = m[0];
    const trail = raw.match(/[.,;:!?)\]}]+$/u)?.[0] ?? '';
    if (trail) raw = raw.slice(0, raw.length - trail.length);
    const href = safeHref(raw);
    const start = m.index;
    if (!href || raw.length === 0) continue;
    if (start > last) parts.push({ text: text.slice(last, start), href: null });
    parts.push({ text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), href: null });
  return parts;
}

export interface HighlightPart {
  text: string;
  mark: boolean;
}

/** Splits a snippet by code-point highlight ranges (end exclusive), as the search API gives them. */
export function highlight(snippet: string, ranges: { start: number; end: number }[]): HighlightPart[] {
  const cps = Array.from(snippet);
  const sorted = [...ranges]
    .map((r) => ({ start: Math.max(0, Math.min(cps.length, r.start)), end: Math.max(0, Math.min(cps.length, r.end)) }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => a.start - b.start);
  const parts: HighlightPart[] = [];
  let pos = 0;
  for (const r of sorted) {
    const start = Math.max(r.start, pos);
    if (r.end <= start) continue;
    if (start > pos) parts.push({ text: cps.slice(pos, start).join(''), mark: false });
    parts.push({ text: cps.slice(start, r.end).join(''), mark: true });
    pos = r.end;
  }
  if (pos < cps.length) parts.push({ text: cps.slice(pos).join(''), mark: false });
  return parts;
}

/** Shortens text for previews and quotes, by code points, with an ellipsis. */
export function clip(text: string, max = 80): string {
  const cps = Array.from(text.replace(/\s+/gu, ' ').trim());
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : cps.join('');
}

/**
 * The line under the refused deliveries for the ones the app could not record (its writer was
 * saturated), or null when every refusal was recorded.
 */
export function droppedRefusals(count: number | null | undefined): string | null {
  if (!count || count <= 0) return null;
  return count === 1
    ? '1 more refused delivery was not recorded while the app was busy.'
    : `${count.toLocaleString('en-US')} more refused deliveries were not recorded while the app was busy.`;
}
