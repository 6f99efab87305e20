// Thin typed client for the UI API. Same-origin only: the session cookie set by `/login`
// authenticates every call, and writes carry `Content-Type: application/json` as the server
// requires.
import type {
  ActivityPage, Call, ChatSummary, Contact, Draft, Message, RawEvent, Rejected, SearchHit, Settings, StartAtLogin, Status, SyncStatus,
  ThreadItem,
} from './types';

/** A file kept for a reply (`POST /api/uploads`). */
export interface Upload {
  upload_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  local_url: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | null | undefined>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url(path, query), init);
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const err: unknown = await res.json();
      if (err && typeof err === 'object' && 'error' in err && typeof err.error === 'string') message = err.error;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(res.status, message);
  }
  if (res.status === 204) return null as T;
  return (await res.json()) as T;
}

const enc = encodeURIComponent;

export const api = {
  status: () => request<Status>('GET', '/api/status'),
  chats: (q: { limit?: number; before?: string; q?: string } = {}) =>
    request<{ chats: ChatSummary[]; has_more: boolean }>('GET', '/api/chats', undefined, q),
  chat: (id: string) => request<ChatSummary>('GET', `/api/chats/${enc(id)}`),
  messages: (id: string, q: { limit?: number; before?: string; after?: string; around?: string } = {}) =>
    request<{ messages: ThreadItem[]; has_more: boolean; has_newer?: boolean }>('GET', `/api/chats/${enc(id)}/messages`, undefined, q),
  markRead: (id: string) => request<{ chat_id: string; unread_count: number }>('POST', `/api/chats/${enc(id)}/read`, {}),
  calls: (q: { limit?: number; before?: string } = {}) =>
    request<{ calls: Call[]; has_more: boolean }>('GET', '/api/calls', undefined, q),
  contacts: () => request<{ contacts: Contact[] }>('GET', '/api/contacts'),
  search: (q: string, opts: { kind?: string; chat_id?: string; limit?: number } = {}) =>
    request<{ query: string; results: SearchHit[] }>('GET', '/api/search', undefined, { q, ...opts }),
  events: (q: { limit?: number; before?: number; type?: string } = {}) =>
    request<{ events: RawEvent[]; has_more: boolean }>('GET', '/api/events', undefined, q),
  activity: (q: { limit?: number; before?: number } = {}) => request<ActivityPage>('GET', '/api/activity', undefined, q),
  rejected: (limit = 200) => request<{ rejected: Rejected[]; total: number; dropped?: number }>('GET', '/api/rejected', undefined, { limit }),
  settings: () => request<Settings>('GET', '/api/settings'),
  putSettings: (patch: Partial<Settings>) => request<Settings>('PUT', '/api/settings', patch),
  presence: (chat_id: string | null, focused: boolean) =>
    request<unknown>('POST', '/api/presence', { chat_id, focused }),
  revealSecret: () => request<{ secret: string }>('POST', '/api/secret/reveal', {}),
  regenerateSecret: () => request<{ secret: string }>('POST', '/api/secret/regenerate', {}),
  /** Queues a failed attachment download again (the rep's "Try again"). */
  retryAttachment: (key: string) => request<{ state: string }>('POST', `/api/attachments/${enc(key)}/retry`, {}),
  /** Starts a catch-up pass (202); its progress arrives on the stream as `event: sync`. */
  catchUp: () => request<SyncStatus>('POST', '/api/linq/sync', {}),
  /** Queues a reply (202 with its bubble); the same client id again is the same reply. */
  sendReply: (chatId: string, body: { text: string; client_id: string; reply_to?: string | null; attachments?: string[] }) =>
    request<Message>('POST', `/api/chats/${enc(chatId)}/messages`, body),
  retryReply: (clientId: string) => request<Message>('POST', `/api/outbox/${enc(clientId)}/retry`, {}),
  deleteReply: (clientId: string) => request<null>('DELETE', `/api/outbox/${enc(clientId)}`),
  /** Keeps a file for a reply (its bytes, named in X-Filename); its upload id. */
  upload: async (file: File): Promise<Upload> => {
    const res = await fetch('/api/uploads', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-Filename': encodeURIComponent(file.name), 'Content-Type': file.type || 'application/octet-stream' },
      body: file,
    });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const message = body && typeof body === 'object' && 'error' in body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, message);
    }
    return body as Upload;
  },
  /** The chat's draft, or null when it has none. */
  draft: async (chatId: string): Promise<Draft | null> => {
    try {
      return await request<Draft>('GET', `/api/chats/${enc(chatId)}/draft`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
  saveDraft: (chatId: string, text: string, reply_to: string | null) =>
    request<null>('PUT', `/api/chats/${enc(chatId)}/draft`, { text, reply_to }),
  typing: (chatId: string, typing: boolean) =>
    request<{ typing: boolean; forwarded: boolean }>('POST', `/api/chats/${enc(chatId)}/typing`, { typing }),
  sendDemo: () => request<{ events: number }>('POST', '/api/demo', {}),
  startAtLogin: () => request<StartAtLogin>('GET', '/api/start-at-login'),
  setStartAtLogin: (enabled: boolean) => request<StartAtLogin>('PUT', '/api/start-at-login', { enabled }),
};
