// The UI API's JSON shapes (docs/API.md). The engine is the only source of these; the UI never
// invents fields, and treats every string in them as untrusted text.

export interface Handle {
  identifier: string;
  display_name: string | null;
  is_me: boolean;
  name: string;
}

export interface Member {
  identifier: string;
  name: string;
  is_me: boolean;
}

export interface TypingEntry {
  identifier: string | null;
  name: string | null;
}

export interface Attachment {
  id: string;
  url: string | null;
  filename: string | null;
  mime_type: string | null;
}

export type ReactionKind = 'love' | 'like' | 'dislike' | 'laugh' | 'emphasize' | 'question';

export interface Reaction {
  id: string;
  reaction: string;
  from: string | null;
  from_name: string | null;
  is_from_me: boolean;
  sent_at: string | null;
  /** API v3 `custom` reactions: the emoji itself. */
  custom_emoji?: string | null;
  /** API v3 `sticker` reactions: the sticker as Linq describes it. */
  sticker?: { file_name?: string | null; mime_type?: string | null; url?: string | null } | null;
}

/** Why Linq could not deliver an outbound message (API v3). */
export interface Failure {
  code: string | null;
  detail_code: string | null;
  reason: string | null;
  failed_at: string;
}

/** The message a reply answers, as far as it is known. */
export interface ReplyTo {
  message_id: string;
  part_index: number | null;
  found: boolean;
  text: string | null;
  from_name: string | null;
  direction: 'inbound' | 'outbound' | null;
}

export interface Message {
  kind: 'message';
  id: string;
  chat_id: string;
  text: string | null;
  sent_at: string | null;
  sent_at_original?: string | null;
  direction: 'inbound' | 'outbound';
  from_phone: string | null;
  from_name: string | null;
  service: string | null;
  read_at: string | null;
  attachments: Attachment[];
  reactions: Reaction[];
  delivered_at?: string | null;
  /** Outbound only: sent, delivered, read or failed. */
  status?: 'sent' | 'delivered' | 'read' | 'failed' | null;
  failure?: Failure | null;
  edited_at?: string | null;
  reply_to?: ReplyTo | null;
}

export interface Membership {
  kind: 'membership';
  id: string;
  chat_id: string;
  action: 'added' | 'removed' | string;
  identifier: string | null;
  name: string | null;
  sent_at: string | null;
}

/** A system line of API v3: a group's name or photo changed, location sharing began or ended. */
export interface ChatEvent {
  kind: 'chat_event';
  id: string;
  chat_id: string;
  action: 'group_name' | 'group_icon' | 'location_started' | 'location_stopped' | string;
  actor: string | null;
  actor_name: string | null;
  old_value: string | null;
  new_value: string | null;
  sent_at: string | null;
}

export type ThreadItem = Message | Membership | ChatEvent;

export interface ChatSummary {
  chat_id: string;
  title: string | null;
  is_group: boolean;
  handles: Handle[];
  my_numbers: string[];
  members: Member[];
  last_message: Message | null;
  last_activity_at: string | null;
  unread_count: number;
  typing: TypingEntry[];
  muted: boolean;
}

export interface Recording {
  id: string | null;
  url: string | null;
  duration: number | null;
  transcription: string | null;
  summary: string | null;
}

export interface Call {
  id: string;
  from: string | null;
  from_name: string | null;
  to: string | null;
  to_name?: string | null;
  direction: 'inbound' | 'outbound' | string;
  status: string | null;
  start_time: string | null;
  end_time: string | null;
  duration: number | null;
  call_type: string | null;
  forwarded_from: string | null;
  answered_by: string | null;
  voicemail: boolean;
  missed: boolean;
  chat_id: string | null;
  recording: Recording | null;
}

export interface Contact {
  id: string;
  first_name: string | null;
  last_name: string | null;
  full_name: string | null;
  email: string | null;
  phone_number: string | null;
  company: string | null;
  title: string | null;
  location: string | null;
  image_url: string | null;
  created_at: string | null;
  updated_at: string | null;
  owner: { id: string | null; name: string | null; email: string | null } | null;
  chat_id: string | null;
}

export interface SearchHit {
  kind: 'message' | 'call' | 'contact';
  id: string;
  chat_id: string | null;
  title: string | null;
  snippet: string;
  highlights: { start: number; end: number }[];
  at: string | null;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface RawEvent {
  seq: number;
  event_id: string;
  event_type: string;
  created_at: string | null;
  created_at_original?: string | null;
  received_at: string;
  signature: 'raw' | 'canonical' | 'unsigned' | 'standard' | 'legacy' | string;
  payload: JsonValue;
}

export interface Rejected {
  id: number;
  received_at: string;
  status: number;
  reason: string;
  remote_addr: string | null;
  headers: string[];
  size: number;
  body_prefix: string;
}

export interface Status {
  version: string;
  listener: { address: string; path: string; url: string };
  ui: { address: string };
  signing: {
    mode: 'secret' | 'unsigned' | string;
    secret_count: number;
    secret_source: string;
    allow_unsigned: boolean;
    /** Per configured secret: `standard_webhooks` (whsec_, API v3), `shared` (v2), or
     * `malformed_standard` (whsec_ without valid base64 after it). */
    secret_kinds?: ('standard_webhooks' | 'shared' | 'malformed_standard' | string)[];
  };
  db: {
    path: string;
    size_bytes: number;
    counts: { events: number; chats: number; messages: number; calls: number; contacts: number; rejected: number };
  };
  last_event_at: string | null;
  rejected_count: number;
  store: { ok: boolean; error: string | null };
  typing_retention_hours?: number;
  /** The health of the rep's numbers, as Linq last reported it (API v3). */
  numbers?: NumberHealth[];
}

export interface NumberHealth {
  phone_number: string;
  status: string | null;
  reputation: string | null;
  previous_status: string | null;
  previous_reputation: string | null;
  changed_at: string;
  needs_attention: boolean;
}

export type Theme = 'system' | 'light' | 'dark';

export interface Settings {
  muted_chats: string[];
  do_not_disturb: boolean;
  dnd_until: string | null;
  previews: boolean;
  notify: { message: boolean; call: boolean; reaction: boolean; [kind: string]: boolean };
  theme: Theme;
}

/** A reaction as the engine describes it beside a reaction event (who, what, on which message). */
export interface ReactionEvent {
  id: string;
  message_id: string;
  chat_id: string | null;
  reaction: string;
  from: string | null;
  from_name: string | null;
  is_from_me: boolean;
  message_text: string | null;
  sent_at: string | null;
}

/** One `data:` of the SSE stream for a stored event; only the fields that apply are present. */
export interface StreamEvent {
  seq: number;
  event_id: string;
  event_type: string;
  created_at: string | null;
  chat_id?: string | null;
  chat?: ChatSummary | null;
  message?: Message | null;
  call?: Call | null;
  contact?: Contact | null;
  contact_deleted_id?: string | null;
  typing?: { chat_id: string; typing: TypingEntry[] } | null;
  membership?: ThreadItem | null;
  /** Every membership line the event made (a delivery may name several people). */
  memberships?: ThreadItem[];
  reaction?: ReactionEvent | null;
  /** An API v3 system line (group name or photo, location sharing). */
  chat_event?: ThreadItem | null;
}

export interface TypingUpdate {
  chat_id: string;
  typing: TypingEntry[];
}
