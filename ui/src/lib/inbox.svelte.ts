// The one owner of live state. It loads the first picture over the UI API, then follows
// `/api/stream`, resuming from the last sequence number it applied after any drop, and
// refetching everything on `event: reset`. Views read its fields and call its methods; the
// rules of change live in `state.ts`.

import { Announcer, arrivalFor, keep, type Announcement } from './announce';
import { api, ApiError } from './api';
import { SseParser } from './sse';
import {
  activityEntries, activityFromStream, contactName, firstUnreadId, followActivity, itemOrder, mergeActivity,
  mergeItems,
  patchChat, sortCalls, sortChats, sortContacts, upsertCall, upsertChat, upsertContact,
  type ActivityEntry,
} from './state';
import { chatName } from './format';
import { newClientId, nextOperation, type Tapback } from './reactions';
import { withoutOlderCopy } from './composer';
import type {
  ActivityItem, Call, ChatSummary, Contact, Handle, Message, Settings, Status, StreamEvent, ThreadItem, TypingUpdate,
} from './types';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

export interface ThreadState {
  items: ThreadItem[];
  hasMore: boolean;
  /** The items are a window around an older message (a search hit): newer ones are not loaded. */
  hasNewer: boolean;
  /** How many items the live stream has added since the thread loaded: "3 new" below the view. */
  liveAdded: number;
  loading: boolean;
  loaded: boolean;
  error: string | null;
  /** Why marking the chat read last failed (the engine's sentence); null once it went through. */
  readError: string | null;
  /** The first unread message when the chat was opened: where "New messages" goes. */
  unreadFromId: string | null;
}

const EMPTY_THREAD: ThreadState = { items: [], hasMore: false, hasNewer: false, liveAdded: 0, loading: false, loaded: false, error: null, readError: null, unreadFromId: null };
const FIRST_PAGE = 100;
const OLDER_PAGE = 200;
const AROUND_PAGE = 200;
const STALL_MS = 45_000;
/** How often the status is read while the inbox is derived again from its log. */
export const REDERIVE_POLL_MS = 1000;

/** How far the inbox's derivation from the log is, from the status; null when there is none. */
export function rederiving(status: Status | null): { done: number; total: number } | null {
  const total = status?.projection?.history_through ?? 0;
  const done = status?.projected_seq ?? 0;
  return total > 0 && done < total ? { done, total } : null;
}
/** How long the disk banner stays after the last failure: at the edge of a full disk some
 *  commits still fit in space the log already holds, and the store's state flips several times
 *  a second. The banner (an alert, read out by screen readers) should not flicker with it. */
export const STORE_BANNER_HOLD_MS = 3000;

type Listener = (ev: StreamEvent) => void;

export class Inbox {
  chats = $state.raw<ChatSummary[]>([]);
  calls = $state.raw<Call[]>([]);
  contacts = $state.raw<Contact[]>([]);
  /** The timeline's stream items, newest first: the first page of `/api/activity`, then live ones. */
  activityItems = $state.raw<ActivityItem[]>([]);
  /** The timeline in words, worded when read, with the names the inbox knows by then. */
  readonly activity: ActivityEntry[] = $derived.by(() => activityEntries(this.activityItems, this.nameOf, this.chatTitle));
  threads = $state.raw<Record<string, ThreadState>>({});
  status = $state.raw<Status | null>(null);
  /** While the inbox is derived again from its log (an upgrade, new projection rules): how far
   * it is, in log rows; null otherwise. */
  readonly rederiving: { done: number; total: number } | null = $derived.by(() => rederiving(this.status));
  settings = $state.raw<Settings | null>(null);
  connection = $state<Connection>('connecting');
  lastSeq = $state(0);
  storeError = $state<string | null>(null);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  openChatId = $state<string | null>(null);
  focused = $state(true);
  /** What the screen reader's live region says of arrivals, newest last (see announce.ts). */
  announcements = $state.raw<Announcement[]>([]);

  private listeners = new Set<Listener>();
  private abort: AbortController | null = null;
  private retryMs = 500;
  private stopped = false;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private rederiveTimer: ReturnType<typeof setTimeout> | null = null;
  private storeFailedAt = 0;
  private storeClear: ReturnType<typeof setTimeout> | null = null;
  private lastPresence = '';
  /** Unread count of each chat at the moment it was opened, before reading it cleared it. */
  private unreadAtOpen = new Map<string, number>();
  private announcer = new Announcer((line) => (this.announcements = keep(this.announcements, line)));

  /** Loads everything, then follows the stream. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.loadAll();
    void this.follow();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    for (const timer of [this.statusTimer, this.storeClear, this.rederiveTimer]) if (timer !== null) clearTimeout(timer);
    this.statusTimer = null;
    this.rederiveTimer = null;
    this.storeClear = null;
  }

  onEvent(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---------- loading ----------

  private async loadAll(): Promise<void> {
    try {
      // The timeline first: the log's seq it was read at is where the stream resumes, so
      // anything committed while the other lists load is replayed (applying twice is harmless)
      // and nothing is lost.
      const activity = await api.activity({ limit: 200 });
      const [chats, calls, contacts, status, settings] = await Promise.all([
        api.chats({ limit: 1000 }),
        api.calls({ limit: 500 }),
        api.contacts(),
        api.status(),
        api.settings(),
      ]);
      this.chats = sortChats(chats.chats);
      this.calls = sortCalls(calls.calls);
      this.contacts = sortContacts(contacts.contacts);
      this.status = status;
      this.showStore(status.store.ok, status.store.error);
      this.settings = settings;
      this.lastSeq = Math.max(this.lastSeq, activity.projected_seq);
      this.activityItems = mergeActivity([], activity.items);
      this.loadError = null;
      this.loaded = true;
      // Everything was just read: only the progress of a derivation in course is left to follow.
      this.followRederiving(false);
      // Cached threads are dropped; the open one reloads from its newest page, with its
      // "new messages" line placed from the unread count just fetched.
      this.threads = {};
      const open = this.openChatId;
      if (open) {
        this.unreadAtOpen.set(open, this.chat(open)?.unread_count ?? 0);
        void this.loadThread(open);
        this.readIfLooking();
      }
    } catch (e) {
      this.loadError = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.status === 401) this.connection = 'signed-out';
    }
  }

  /** Resolves a number to the best name known: contact, chat handle, the sender's own name, the number. */
  nameOf = (identifier: string | null | undefined, fallback?: string | null): string => {
    if (identifier) {
      const contact = this.contacts.find((c) => c.phone_number === identifier);
      if (contact) return contactName(contact);
      for (const chat of this.chats) {
        const h: Handle | undefined = chat.handles.find((x) => x.identifier === identifier);
        if (h?.name && h.name !== identifier) return h.name;
      }
    }
    return fallback?.trim() || identifier || 'Unknown';
  };

  chatTitle = (id: string): string | null => {
    const chat = this.chats.find((c) => c.chat_id === id);
    return chat ? chatName(chat) : null;
  };

  chat(id: string | null): ChatSummary | null {
    return id ? (this.chats.find((c) => c.chat_id === id) ?? null) : null;
  }

  thread(id: string): ThreadState {
    return this.threads[id] ?? EMPTY_THREAD;
  }

  private setThread(id: string, patch: Partial<ThreadState>): void {
    this.threads = { ...this.threads, [id]: { ...this.thread(id), ...patch } };
  }

  private firstLoads = new Map<string, Promise<void>>();

  /** Loads the newest page once; concurrent callers share the same request. */
  loadThread(id: string): Promise<void> {
    const t = this.thread(id);
    if (t.loaded) return Promise.resolve();
    const pending = this.firstLoads.get(id);
    if (pending) return pending;
    const p = this.fetchFirstPage(id).finally(() => this.firstLoads.delete(id));
    this.firstLoads.set(id, p);
    return p;
  }

  private async fetchFirstPage(id: string): Promise<void> {
    this.setThread(id, { loading: true, error: null });
    try {
      const page = await api.messages(id, { limit: FIRST_PAGE });
      const items = mergeItems(this.thread(id).items, page.messages);
      const unread = this.unreadAtOpen.get(id) ?? this.chat(id)?.unread_count ?? 0;
      this.setThread(id, { items, hasMore: page.has_more, loading: false, loaded: true, unreadFromId: firstUnreadId(items, unread) });
    } catch (e) {
      this.setThread(id, { loading: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Loads the page before the oldest item; resolves to how many items arrived. */
  async loadOlder(id: string): Promise<number> {
    const t = this.thread(id);
    const oldest = t.items[0];
    if (t.loading || !t.hasMore || !oldest) return 0;
    this.setThread(id, { loading: true });
    try {
      const page = await api.messages(id, { limit: OLDER_PAGE, before: oldest.id });
      this.setThread(id, { items: mergeItems(this.thread(id).items, page.messages), hasMore: page.has_more, loading: false });
      return page.messages.length;
    } catch (e) {
      this.setThread(id, { loading: false, error: e instanceof Error ? e.message : String(e) });
      return 0;
    }
  }

  /** Loads the page after the newest item of a window opened around an older message. */
  async loadNewer(id: string): Promise<number> {
    const t = this.thread(id);
    const newest = t.items[t.items.length - 1];
    if (t.loading || !t.hasNewer || !newest) return 0;
    this.setThread(id, { loading: true });
    try {
      const page = await api.messages(id, { limit: OLDER_PAGE, after: newest.id });
      const items = mergeItems(this.thread(id).items, page.messages);
      this.setThread(id, { items, hasNewer: page.has_newer ?? false, loading: false });
      return page.messages.length;
    } catch (e) {
      this.setThread(id, { loading: false, error: e instanceof Error ? e.message : String(e) });
      return 0;
    }
  }

  /**
   * Makes sure the message is loaded (a search hit, an activity entry): in the newest page, or
   * else in a window fetched around it, however deep in history. False if the chat has no such item.
   */
  async openAt(id: string, messageId: string): Promise<boolean> {
    await this.loadThread(id);
    if (this.thread(id).items.some((x) => x.id === messageId)) return true;
    try {
      const page = await api.messages(id, { limit: AROUND_PAGE, around: messageId });
      if (!page.messages.some((x) => x.id === messageId)) return false;
      this.setThread(id, {
        items: mergeItems([], page.messages), hasMore: page.has_more, hasNewer: page.has_newer ?? false,
        loading: false, loaded: true, error: null, unreadFromId: null,
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) return false;
      this.setThread(id, { error: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }

  /** Leaves a window around an old message for the newest page. */
  async jumpToLatest(id: string): Promise<void> {
    if (!this.thread(id).hasNewer) return;
    this.setThread(id, { ...EMPTY_THREAD });
    await this.loadThread(id);
  }

  // ---------- reading and presence ----------

  /** The rep is looking at this chat (or at none). Marks it read while the window has focus. */
  openChat(id: string | null): void {
    if (this.openChatId !== id && this.openChatId) {
      // Leaving a chat: its "new messages" line is spent.
      this.setThread(this.openChatId, { unreadFromId: null });
    }
    this.openChatId = id;
    if (id) {
      const unread = this.chat(id)?.unread_count ?? 0;
      this.unreadAtOpen.set(id, unread);
      const t = this.thread(id);
      if (t.loaded) this.setThread(id, { unreadFromId: firstUnreadId(t.items, unread) });
      void this.loadThread(id);
    }
    this.reportPresence();
    this.readIfLooking();
  }

  setFocused(focused: boolean): void {
    this.focused = focused;
    this.reportPresence();
    this.readIfLooking();
  }

  private readIfLooking(): void {
    const id = this.openChatId;
    if (!id || !this.focused) return;
    const chat = this.chat(id);
    if (chat && chat.unread_count > 0) void this.markRead(id);
  }

  /**
   * Marks chat `id` read: the count drops at once and the engine's answer settles it. When the
   * engine refuses (the disk is full, the chat is gone), the count comes back and the thread
   * says why, with a way to try again.
   */
  async markRead(id: string): Promise<void> {
    const before = this.chat(id)?.unread_count ?? 0;
    this.chats = patchChat(this.chats, id, { unread_count: 0 });
    try {
      const r = await api.markRead(id);
      this.chats = patchChat(this.chats, id, { unread_count: r.unread_count });
      if (this.thread(id).readError) this.setThread(id, { readError: null });
    } catch (e) {
      // Unless the stream has told a newer count meanwhile, the chat is as unread as it was.
      if (this.chat(id)?.unread_count === 0) this.chats = patchChat(this.chats, id, { unread_count: before });
      this.setThread(id, { readError: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * The rep picked tapback `kind` on `message`: toggled through the outbox (added, removed, or
   * a failed change tried again) and shown at once from the engine's answer. Throws the
   * engine's sentence when it refused the request.
   */
  async react(message: Message, kind: Tapback): Promise<void> {
    const mark = this.streamTicks;
    const updated = await api.react(message.id, kind, nextOperation(message, kind), newClientId());
    // The stream may have brought a newer state of the message (Linq took it) before this answer.
    if ((this.messageTicks.get(updated.id) ?? -1) >= mark) return;
    const t = this.threads[updated.chat_id];
    if (t?.loaded) this.setThread(updated.chat_id, { items: mergeItems(t.items, [updated]) });
  }

  /**
   * Starts a conversation with `to` from the line `from` through the outbox; the chat to open
   * (a provisional `new:…` one until Linq names it, then `renamed` says where it went).
   */
  async startChat(to: string, from: string, text: string): Promise<string> {
    const answer = await api.newChat({ to, from, text, client_id: newClientId() });
    try {
      const chat = await api.chat(answer.chat_id);
      this.chats = upsertChat(this.chats, chat);
    } catch {
      /* the stream brings the chat */
    }
    return answer.chat_id;
  }

  /** Stream events applied so far, and the last one that carried each message (not reactive). */
  private streamTicks = 0;
  private messageTicks = new Map<string, number>();

  /** Provisional chats Linq has named since: `new:…` → Linq's chat id. */
  renamed = $state<Record<string, string>>({});

  private followRename(ev: StreamEvent, event: string): void {
    const m = ev.message;
    if (event !== 'linq_inbox.outbox_chat_named' || !m?.client_id) return;
    const provisional = `new:${m.client_id}`;
    this.renamed = { ...this.renamed, [provisional]: m.chat_id };
    this.chats = this.chats.filter((c) => c.chat_id !== provisional);
  }

  private reportPresence(): void {
    const key = `${this.openChatId ?? ''}|${this.focused}`;
    if (key === this.lastPresence || !this.loaded) return;
    this.lastPresence = key;
    api.presence(this.openChatId, this.focused).catch(() => {
      this.lastPresence = '';
    });
  }

  // ---------- settings ----------

  async updateSettings(patch: Partial<Settings>): Promise<void> {
    const next = await api.putSettings(patch);
    this.settings = next;
    const muted = new Set(next.muted_chats);
    this.chats = this.chats.map((c) => (c.muted === muted.has(c.chat_id) ? c : { ...c, muted: muted.has(c.chat_id) }));
  }

  async toggleMute(chatId: string): Promise<void> {
    const current = this.settings?.muted_chats ?? [];
    const muted = current.includes(chatId) ? current.filter((c) => c !== chatId) : [...current, chatId];
    await this.updateSettings({ muted_chats: muted });
  }

  /** Raises the disk banner at once; lowers it no sooner than STORE_BANNER_HOLD_MS after the
   *  last failure reported. */
  private showStore(ok: boolean, error: string | null): void {
    if (this.storeClear !== null) {
      clearTimeout(this.storeClear);
      this.storeClear = null;
    }
    if (!ok) {
      this.storeError = error ?? 'The disk refuses writes.';
      this.storeFailedAt = Date.now();
      return;
    }
    const wait = this.storeFailedAt + STORE_BANNER_HOLD_MS - Date.now();
    if (this.storeError === null || wait <= 0) {
      this.storeError = null;
      return;
    }
    this.storeClear = setTimeout(() => {
      this.storeClear = null;
      this.storeError = null;
    }, wait);
  }

  async refreshStatus(): Promise<void> {
    const wasRederiving = this.rederiving !== null;
    try {
      const s = await api.status();
      this.status = s;
      this.showStore(s.store.ok, s.store.error);
    } catch {
      /* shown as stale; the stream state says why */
    }
    this.followRederiving(wasRederiving);
  }

  /** The stream does not announce history being derived again, so its progress is polled, and
   * the lists are read again once it is done. */
  private followRederiving(was: boolean): void {
    if (this.stopped) return;
    if (this.rederiving) {
      if (this.rederiveTimer === null) {
        this.rederiveTimer = setTimeout(() => {
          this.rederiveTimer = null;
          void this.refreshStatus();
        }, REDERIVE_POLL_MS);
      }
    } else if (was) {
      void this.loadAll();
    }
  }

  private refreshStatusSoon(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      void this.refreshStatus();
    }, 700);
  }

  // ---------- the stream ----------

  private async follow(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.readStream();
      if (this.stopped) return;
      if (this.connection !== 'signed-out') this.connection = 'reconnecting';
      await new Promise((r) => setTimeout(r, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, ok ? 1000 : 5000);
    }
  }

  /** Reads the stream until it ends; true when it had been open. */
  private async readStream(): Promise<boolean> {
    const ctrl = new AbortController();
    this.abort = ctrl;
    let stall: ReturnType<typeof setTimeout> | null = null;
    const arm = () => {
      if (stall) clearTimeout(stall);
      stall = setTimeout(() => ctrl.abort(), STALL_MS);
    };
    try {
      const res = await fetch('/api/stream', {
        credentials: 'same-origin',
        headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(this.lastSeq) },
        cache: 'no-store',
        signal: ctrl.signal,
      });
      if (res.status === 401) {
        this.connection = 'signed-out';
        return false;
      }
      if (!res.ok || !res.body) return false;
      const wasDown = this.connection === 'reconnecting' || this.connection === 'signed-out';
      this.connection = 'live';
      this.retryMs = 500;
      if (wasDown) {
        // Whatever the server forgot while it was away (typing, presence) is set again.
        this.lastPresence = '';
        this.reportPresence();
        if (!this.loaded) await this.loadAll();
        void this.refreshStatus();
      }
      arm();
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        for (const msg of parser.push(value)) this.dispatch(msg.event, msg.data, msg.id);
      }
      return true;
    } catch {
      return false;
    } finally {
      if (stall) clearTimeout(stall);
    }
  }

  /** Applies one stream message. Public for tests. */
  dispatch(event: string, data: string, id: string | null): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (event === 'reset') {
      this.threads = Object.fromEntries(Object.entries(this.threads).map(([k, v]) => [k, { ...v, loaded: false }]));
      this.lastSeq = 0;
      void this.loadAll();
      return;
    }
    if (event === 'store') {
      const s = parsed as { ok: boolean; error: string | null };
      this.showStore(s.ok, s.error);
      return;
    }
    if (event === 'typing') {
      // Typing that changed without a stored event (expiry): no seq to remember.
      this.applyTyping(parsed as TypingUpdate);
      return;
    }
    if (event === 'attachment') {
      // A local copy was kept or failed: nothing new in the log, only the message as shown.
      this.applyAttachment(parsed as StreamEvent);
      return;
    }
    if (event === 'sync') {
      // A catch-up pass's progress: no stored event, only the status it changes.
      const sync = (parsed as StreamEvent).sync;
      if (sync && this.status) this.status = { ...this.status, sync };
      return;
    }
    const ev = parsed as StreamEvent;
    const seq = id !== null && /^\d+$/u.test(id) ? Number(id) : ev.seq;
    if (typeof seq === 'number' && seq <= this.lastSeq && seq > 0) return; // already applied
    this.apply(ev, event);
    if (typeof seq === 'number') this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** Replaces a message the page already shows (thread, chat preview) with its new state. */
  private applyAttachment(ev: StreamEvent): void {
    const m = ev.message;
    if (!m || typeof m.chat_id !== 'string') return;
    const t = this.threads[m.chat_id];
    const shown = t?.loaded ? t.items.find((x) => x.kind === 'message' && x.id === m.id) : undefined;
    const preview = this.chat(m.chat_id)?.last_message;
    const before = shown?.kind === 'message' ? shown : preview?.id === m.id ? preview : undefined;
    if (t && shown) this.setThread(m.chat_id, { items: mergeItems(t.items, [m]) });
    if (preview?.id === m.id) this.chats = patchChat(this.chats, m.chat_id, { last_message: m });
    // The attachments folder grows only when a copy is kept: its usage on the Settings screen
    // follows then. A failed try changes no usage, and reading the status for each retry
    // of an unreachable file kept the engine from ever going quiet.
    if (this.status && keptCount(m) > keptCount(before)) this.refreshStatusSoon();
  }

  private applyTyping(t: TypingUpdate): void {
    if (!t || typeof t.chat_id !== 'string') return;
    this.chats = patchChat(this.chats, t.chat_id, { typing: Array.isArray(t.typing) ? t.typing : [] });
  }

  /** Applies one stored event's projections; `event` is the stream's `event:` name. */
  apply(ev: StreamEvent, event: string = ev.event_type ?? ''): void {
    this.followRename(ev, event);
    if (ev.message) this.messageTicks.set(ev.message.id, this.streamTicks);
    this.streamTicks += 1;
    if (ev.chat) {
      const local = this.chat(ev.chat.chat_id);
      const chat = { ...ev.chat };
      // Keep what this page knows better than a racing snapshot: a chat read here stays read.
      if (local && local.unread_count === 0 && this.openChatId === chat.chat_id && this.focused && ev.event_type !== 'message.received') {
        chat.unread_count = 0;
      }
      this.chats = upsertChat(this.chats, chat);
    }
    if (ev.typing) this.applyTyping(ev.typing);
    for (const item of [ev.message, ev.chat_event, ...(ev.memberships?.length ? ev.memberships : [ev.membership])]) {
      if (!item || !item.chat_id) continue;
      const t = this.threads[item.chat_id];
      // A window around an old message takes only changes to what it shows; new items join
      // when the reader pages forward to them.
      const shown = t?.loaded && (!t.hasNewer || t.items.some((x) => x.id === item.id && x.kind === item.kind));
      if (t && shown) {
        const items = mergeItems(withoutOlderCopy(t.items, item), [item]);
        this.setThread(item.chat_id, { items, liveAdded: t.liveAdded + items.length - t.items.length });
      }
    }
    if (ev.message && !ev.chat) {
      // A message without its chat snapshot still moves the chat's preview.
      const m = ev.message;
      const chat = this.chat(m.chat_id);
      if (chat && (ev.event_type === 'message.received' || ev.event_type === 'message.sent')) {
        const shown = chat.last_message;
        this.chats = upsertChat(this.chats, {
          ...chat,
          // A message older than the one shown (same second, Linq's finer time) stays behind it.
          last_message: shown && shown.id !== m.id && itemOrder(shown, m) > 0 ? shown : m,
          last_activity_at: m.sent_at ?? chat.last_activity_at,
          unread_count: chat.unread_count + (m.direction === 'inbound' ? 1 : 0),
        });
      } else if (chat && chat.last_message?.id === m.id) {
        this.chats = patchChat(this.chats, m.chat_id, { last_message: m });
      }
    }
    if (ev.call) this.calls = upsertCall(this.calls, ev.call);
    if (ev.contact) this.contacts = upsertContact(this.contacts, ev.contact);
    if (ev.contact_deleted_id) this.contacts = this.contacts.filter((c) => c.id !== ev.contact_deleted_id);
    if (typeof ev.seq === 'number' && !event.includes('typing_indicator')) {
      // Typing is live state, not a timeline entry (the activity page leaves it out too).
      this.activityItems = followActivity(this.activityItems, { seq: ev.seq, event, data: ev });
      this.announce({ ...ev, event_type: ev.event_type ?? event });
    }
    if (ev.message?.direction === 'inbound' && ev.message.chat_id === this.openChatId) this.readIfLooking();
    if (this.status) {
      this.status = { ...this.status, last_event_at: new Date().toISOString() };
      this.refreshStatusSoon();
    }
    for (const fn of this.listeners) fn(ev);
  }

  /** Hands an arrival the rep would be notified of to the live region's rate limit. */
  private announce(ev: StreamEvent): void {
    const muted = (id: string) => this.settings?.muted_chats.includes(id) ?? false;
    const arrival = arrivalFor(ev, activityFromStream(ev, this.nameOf, this.chatTitle), muted);
    if (arrival) this.announcer.push(arrival);
  }

  // ---------- the rep's replies ----------

  /** Shows the rep's reply at once, from the engine's 202; the stream keeps it in step. */
  showOwn(m: Message): void {
    const t = this.threads[m.chat_id];
    if (!t?.loaded) return;
    // The stream may have told a later state of it already (sent, failed): that one stays.
    if (t.items.some((x) => x.kind === 'message' && (x.id === m.id || (m.client_id !== null && x.client_id === m.client_id)))) return;
    const items = mergeItems(withoutOlderCopy(t.items, m), [m]);
    this.setThread(m.chat_id, { items, liveAdded: t.liveAdded + items.length - t.items.length });
  }

  async retryReply(clientId: string): Promise<void> {
    this.showOwn(await api.retryReply(clientId));
  }

  /** Drops a failed reply from the outbox and the thread. */
  async deleteReply(chatId: string, clientId: string): Promise<void> {
    await api.deleteReply(clientId);
    const t = this.threads[chatId];
    if (t) this.setThread(chatId, { items: t.items.filter((x) => !(x.kind === 'message' && x.client_id === clientId)) });
  }

  displayName(chat: ChatSummary): string {
    return chatName(chat);
  }
}

export const inbox = new Inbox();

/** How many of a message's attachments have a local copy. */
function keptCount(m: Message | undefined): number {
  return m?.attachments.filter((a) => a.state === 'downloaded').length ?? 0;
}
