// Small builders for unit tests: valid API shapes with only the interesting fields spelled out.
import type { Call, ChatSummary, Membership, Message } from '../types';

export function msg(id: string, at: string, over: Partial<Message> = {}): Message {
  return {
    kind: 'message',
    id,
    chat_id: 'c1',
    text: `text ${id}`,
    sent_at: at,
    // The engine's arrival tie: ids here are small integers, told in their order.
    tie: Number.parseInt(id, 10) || 0,
    direction: 'inbound',
    from_phone: '+15550000001',
    from_name: 'María López',
    service: 'iMessage',
    read_at: null,
    read_at_original: null,
    sent_at_original: null,
    delivered_at: null,
    edited_at: null,
    failure: null,
    reply_to: null,
    status: null,
    error: null,
    client_id: null,
    attachments: [],
    reactions: [],
    ...over,
  };
}

export function member(id: string, at: string, over: Partial<Membership> = {}): Membership {
  return { kind: 'membership', id, chat_id: 'g1', action: 'added', identifier: '+15550000009', name: 'Amara Obi', sent_at: at, sent_at_original: null, ...over };
}

export function chat(id: string, at: string, over: Partial<ChatSummary> = {}): ChatSummary {
  return {
    chat_id: id,
    title: `Chat ${id}`,
    is_group: false,
    handles: [
      { identifier: '+15550000001', display_name: 'María', is_me: false, name: 'María López' },
      { identifier: '+15559990000', display_name: 'Me', is_me: true, name: 'Me' },
    ],
    my_numbers: ['+15559990000'],
    members: [],
    last_message: null,
    last_activity_at: at,
    unread_count: 0,
    read_mark_error: null,
    typing: [],
    muted: false,
    ...over,
  };
}

export function call(id: string, over: Partial<Call> = {}): Call {
  return {
    id,
    from: '+15550000003',
    from_name: 'Koji Tanaka',
    to: '+15559990000',
    direction: 'inbound',
    status: 'completed',
    to_name: null,
    start_time: '2025-05-21T21:00:00Z',
    start_time_original: null,
    end_time: '2025-05-21T21:05:30Z',
    end_time_original: null,
    duration: 330,
    call_type: 'normal',
    forwarded_from: null,
    answered_by: '+15559990000',
    voicemail: false,
    missed: false,
    chat_id: null,
    recording: null,
    ...over,
  };
}
