// The composer's rules, apart from the component so they can be tested: which key sends, the
// length limit shown before it is hit, one client id per reply (a double Enter or a retry of
// the same reply is the same reply at the engine), saving drafts while typing without a request
// per keystroke, and keeping one bubble when the engine renames a reply's message id.

import type { Message, ThreadItem } from './types';

/** Linq's longest text (linq-api.md §5.1); the engine refuses longer replies too. */
export const MAX_TEXT = 10_000;
/** From here on the composer shows how many characters are left. */
export const SHOW_COUNT_FROM = 9_000;
/** How long typing must pause before the draft is saved. */
export const DRAFT_DELAY_MS = 400;
/** Linq's largest attachment (a pre-uploaded media part, linq-api.md §5.1). */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;
/** The most files one reply carries (the engine refuses more). */
export const MAX_FILES = 10;

/** Why a file cannot be attached, in one sentence, or null when it can. */
export function fileProblem(file: { name: string; size: number }, attached: number): string | null {
  if (attached >= MAX_FILES) return `A reply takes at most ${MAX_FILES} files.`;
  if (file.size > MAX_FILE_BYTES) return `${file.name} is ${megabytes(file.size)}, over Linq's 100 MB limit for an attachment.`;
  if (file.size === 0) return `${file.name} is empty.`;
  return null;
}

export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** How long after the last keystroke the rep counts as stopped typing. */
export const TYPING_IDLE_MS = 5_000;

export type KeyAction = 'send' | 'newline' | 'none';

/** The key event fields the decision needs (a KeyboardEvent has them all). */
export interface KeyLike {
  key: string;
  shiftKey: boolean;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  isComposing: boolean;
  keyCode?: number;
}

/**
 * Enter sends, Shift+Enter breaks the line; while an input method is composing (Japanese,
 * Chinese, Korean: Enter confirms the candidate) the key never sends. Chromium reports the
 * confirming Enter with `isComposing` or, on some platforms, only keyCode 229.
 */
export function keyAction(e: KeyLike): KeyAction {
  if (e.key !== 'Enter') return 'none';
  if (e.isComposing || e.keyCode === 229) return 'none';
  if (e.shiftKey || e.altKey) return 'newline';
  if (e.ctrlKey || e.metaKey) return 'send';
  return 'send';
}

export interface Limit {
  count: number;
  left: number;
  over: boolean;
  /** Show the count: near the limit or past it. */
  show: boolean;
  text: string;
}

/** Characters as Linq counts them (code points, so an emoji is one). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export function limit(text: string): Limit {
  const count = charCount(text);
  const left = MAX_TEXT - count;
  const over = left < 0;
  return {
    count,
    left,
    over,
    show: count >= SHOW_COUNT_FROM,
    text: over ? `${-left} characters over Linq's limit of ${MAX_TEXT}` : `${left} characters left`,
  };
}

/** Whether the reply can be sent: text or a file, within the limit. */
export function canSend(text: string, files = 0): boolean {
  return (text.trim().length > 0 || files > 0) && !limit(text).over;
}

export function newClientId(): string {
  return crypto.randomUUID();
}

/**
 * One reply's identity: the same client id until the engine has the reply (202), so sending
 * twice, or again after a failed request, is the same reply; then a fresh one.
 */
export class ReplyIdentity {
  private id: string;
  private sending = false;

  constructor(private readonly make: () => string = newClientId) {
    this.id = make();
  }

  /** The id to send with, or null while this reply's request is already on its way. */
  begin(): string | null {
    if (this.sending) return null;
    this.sending = true;
    return this.id;
  }

  /** The engine answered: `accepted` starts the next reply with a new id. */
  end(accepted: boolean): void {
    this.sending = false;
    if (accepted) this.id = this.make();
  }

  get current(): string {
    return this.id;
  }
}

/** Calls `fn` once `ms` after the last `call`; `flush` runs a waiting call now. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  const run = () => {
    timer = null;
    const args = pending;
    pending = null;
    if (args) fn(...args);
  };
  return {
    call(...args: A): void {
      pending = args;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(run, ms);
    },
    flush(): void {
      if (timer !== null) clearTimeout(timer);
      run();
    },
    cancel(): void {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}

/**
 * The thread without an older copy of `m`'s reply: when Linq's report of the rep's reply became
 * its bubble, the engine sends it under Linq's id with the same `client_id`, and the local one
 * (`local:{client_id}`) must go, or the thread shows the reply twice.
 */
export function withoutOlderCopy(items: ThreadItem[], m: ThreadItem): ThreadItem[] {
  if (m.kind !== 'message' || !m.client_id) return items;
  const stale = items.some((x) => x.kind === 'message' && x.client_id === m.client_id && x.id !== m.id);
  return stale ? items.filter((x) => !(x.kind === 'message' && x.client_id === m.client_id && x.id !== m.id)) : items;
}

/** The status words under the rep's own reply, or null when the thread shows none for it. */
export function statusText(m: Message): string | null {
  if (m.direction !== 'outbound' || !m.client_id) return null;
  switch (m.status) {
    case 'sending':
      return 'Sending…';
    case 'sent':
      return 'Sent';
    case 'failed':
      return m.error?.trim() ? `Not sent: ${m.error.trim()}` : 'Not sent';
    default:
      return null;
  }
}

/** The quoted message above the composer, clipped. */
export function quoteOf(m: Message, nameOf: (m: Message) => string): { who: string; text: string } {
  const text = m.text?.trim() || (m.attachments.length ? '(attachment)' : '(empty message)');
  return { who: m.direction === 'outbound' ? 'You' : nameOf(m), text: text.length > 120 ? `${text.slice(0, 119)}…` : text };
}
