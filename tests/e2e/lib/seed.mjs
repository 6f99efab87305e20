// @ts-check
// The inbox every browser test starts from: three people, a group, a second Linq number, calls
// with a transcript and a voicemail, and a chat full of hostile text.
import * as L from './engine.mjs';

export const MARIA = { identifier: '+15551230001', display_name: 'María López', is_me: false };
export const PRIYA = { identifier: '+15551230002', display_name: 'Priya R', is_me: false };
export const KOJI = { identifier: '+15551230003', display_name: 'Koji', is_me: false };
export const HOSTILE = { identifier: '+15551239999', display_name: '<img src=x onerror=alert(9)>', is_me: false };

export const MARIA_HANDLES = [MARIA, L.ME];
export const GROUP_HANDLES = [PRIYA, KOJI, L.ME];
export const KOJI2_HANDLES = [KOJI, L.ME2];
export const HOSTILE_HANDLES = [HOSTILE, L.ME];

export const LONG = Array.from({ length: 1000 }, (_, i) => `word${i % 10}xxxx`).join(' ').slice(0, 10_000);
export const ZALGO = 'Z' + '\u0301\u0302\u0303\u0304\u0305'.repeat(200) + 'algo';
export const HOSTILE_TEXTS = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  'javascript:alert(3) and [click](javascript:alert(4)) but https://example.com/safe is fine',
  'invoice \u202Egnp.exe\u202C end',
  ZALGO,
  LONG,
];

/** Everything the first screen shows, oldest first. */
export function seedEvents() {
  L.setClock('2026-11-19T15:00:00Z');
  const ev = [
    L.contact({ id: 101, first: 'María', last: 'López', phone: MARIA.identifier, email: 'maria@acme.test', company: 'Acme Corp', title: 'VP Sales' }),
    L.contact({ id: 102, first: 'Priya', last: 'Raman', phone: PRIYA.identifier, email: 'priya@globex.test', company: 'Globex', title: 'Buyer' }),
    L.contact({ id: 103, first: 'Koji', last: 'Tanaka', phone: KOJI.identifier, company: 'Initech' }),
    L.message({ id: 'm-1', chat: 'chat-maria', text: 'Hi! Did you get the proposal?', from: MARIA, handles: MARIA_HANDLES }),
    L.message({ id: 'm-2', chat: 'chat-maria', text: 'Yes, reviewing it now.', from: L.ME, handles: MARIA_HANDLES }),
  ];
  L.setClock('2026-11-20T14:00:00Z');
  ev.push(
    L.message({ id: 'g-1', chat: 'chat-group', text: 'Morning team', from: PRIYA, handles: GROUP_HANDLES }),
    L.message({ id: 'g-2', chat: 'chat-group', text: 'Is the agenda ready?', from: KOJI, handles: GROUP_HANDLES }),
    L.message({ id: 'g-3', chat: 'chat-group', text: 'Sure, 10am works', from: L.ME, handles: GROUP_HANDLES }),
    L.reaction({ id: 'r-1', chat: 'chat-group', messageId: 'g-3', messageText: 'Sure, 10am works', reaction: 'love', from: PRIYA, handles: GROUP_HANDLES }),
    L.participant('chat-group', '+15551230004', 'Amara Obi'),
    L.call({ id: 'call-1', from: KOJI.identifier, to: L.ME.identifier, duration: 330, recording: {
      url: 'https://storage.example.test/recordings/call-1.mp3', duration: 330,
      transcription: 'Hello, this is Koji calling about the renewal terms for next quarter.',
      summary: 'Koji called to confirm the renewal terms.' } }),
    L.call({ id: 'call-2', from: PRIYA.identifier, to: L.ME.identifier, status: 'no-answer', duration: 40, voicemail: true, answeredBy: null, recording: {
      url: 'https://storage.example.test/recordings/call-2.mp3', duration: 40,
      transcription: 'Hi, it is Priya, please call me back about the pilot.', summary: 'Priya left a voicemail about the pilot.' } }),
    L.call({ id: 'call-3', from: L.ME.identifier, to: MARIA.identifier, direction: 'outbound', duration: 120, recording: null }),
    L.message({ id: 'k-1', chat: 'chat-koji2', text: 'Running 5 min late', from: KOJI, handles: KOJI2_HANDLES, service: 'SMS' }),
    ...HOSTILE_TEXTS.map((text, i) => L.message({ id: `h-${i}`, chat: 'chat-hostile', text, from: HOSTILE, handles: HOSTILE_HANDLES })),
    L.message({ id: 'h-att', chat: 'chat-hostile', text: null, from: HOSTILE, handles: HOSTILE_HANDLES, attachments: [
      { id: 'att-js', url: 'javascript:alert(5)', filename: '<b>evil</b>.png', mime_type: 'image/png' },
      { id: 'att-http', url: 'http://insecure.example.test/pic.png', filename: 'plain-http.png', mime_type: 'image/png' },
    ] }),
    L.message({ id: 'm-3', chat: 'chat-maria', text: 'Can we talk tomorrow?', from: MARIA, handles: MARIA_HANDLES }),
    L.message({ id: 'm-4', chat: 'chat-maria', text: 'Sounds good, talk then.', from: L.ME, handles: MARIA_HANDLES }),
    L.read('chat-maria', 'm-4'),
    L.message({ id: 'm-5', chat: 'chat-maria', text: 'Here is the signed copy', from: MARIA, handles: MARIA_HANDLES, attachments: [
      { id: 'att-pdf', url: 'https://storage.example.test/files/contract.pdf', filename: 'contract.pdf', mime_type: 'application/pdf' },
      { id: 'att-img', url: 'https://storage.example.test/files/site.png', filename: 'site.png', mime_type: 'image/png' },
    ] }),
  );
  return ev;
}
