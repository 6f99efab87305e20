import { describe, expect, it } from 'vitest';
import { Announcer, GAP_MS, KEEP, LINE_MAX, arrivalFor, keep, summary, type Announcement, type Arrival, type Timing } from './announce';
import { activityFromStream } from './state';
import { call, msg } from './testing/fixtures';
import type { StreamEvent } from './types';

/** A clock the test moves by hand, with the timers set on it. */
function manualClock(): Timing & { advance(ms: number): void } {
  let t = 1_000_000;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => t,
    later: (fn, ms) => timers.push({ at: t + ms, fn }),
    advance(ms) {
      t += ms;
      const due = timers.filter((x) => x.at <= t);
      timers = timers.filter((x) => x.at > t);
      for (const x of due) x.fn();
    },
  };
}

const names = (id: string | null | undefined) => (id === '+15550000001' ? 'María López' : id === '+15550000003' ? 'Koji Tanaka' : (id ?? 'Unknown'));
const title = () => 'Chat c1';
const notMuted = () => false;

function arrival(ev: StreamEvent, muted: (id: string) => boolean = notMuted): Arrival | null {
  return arrivalFor(ev, activityFromStream(ev, names, title), muted);
}

function said(who: string, i: number): Arrival {
  return { who, text: `${who}: line ${i}`, message: true };
}

describe('what the live region says', () => {
  it('a new message: who sent it and a bounded excerpt', () => {
    const long = 'word '.repeat(200);
    const a = arrival({ seq: 1, event_type: 'message.received', message: msg('m1', '2026-01-01T00:00:00Z', { text: long }) });
    expect(a?.text.startsWith('María López: word word'), 'the sender comes first').toBe(true);
    expect(Array.from(a?.text ?? '').length, 'the excerpt is cut').toBeLessThanOrEqual(LINE_MAX);
    expect(a?.text.endsWith('…'), 'and says it was cut').toBe(true);
  });

  it('says what a notification would: not my own sends, not muted chats', () => {
    const mine = msg('m2', '2026-01-01T00:00:00Z', { direction: 'outbound', from_name: null });
    expect(arrival({ seq: 2, event_type: 'message.sent', message: mine }), 'my own message is not news').toBeNull();
    const theirs = msg('m3', '2026-01-01T00:00:00Z');
    expect(arrival({ seq: 3, event_type: 'message.received', message: theirs }, (id) => id === 'c1'), 'a muted chat stays quiet').toBeNull();
    const missed = call('k1', { missed: true, voicemail: true, status: 'no-answer' });
    expect(arrival({ seq: 4, event_type: 'call.completed', call: missed })?.text).toBe('Missed call from Koji Tanaka: voicemail, 5 min 30 s');
    const out = call('k2', { direction: 'outbound', from: '+15559990000', to: '+15550000003' });
    expect(arrival({ seq: 5, event_type: 'call.completed', call: out }), 'a call I made is not announced').toBeNull();
    expect(arrival({ seq: 6, event_type: 'contact.created' }), 'nor a contact change').toBeNull();
  });

  it('a burst is one line: how many, from whom', () => {
    expect(summary([said('Ann', 1), said('Bo', 2), said('Ann', 3)])).toBe('3 new messages from Ann and Bo');
    expect(summary(['A', 'B', 'C'].map(said))).toBe('3 new messages from A, B and C');
    expect(summary(['A', 'B', 'C', 'D', 'E'].map(said))).toBe('5 new messages from A, B, C and 2 more');
    expect(summary([said('Ann', 1), { who: 'Koji', text: 'Missed call from Koji', message: false }])).toBe('2 new updates from Ann and Koji');
  });
});

describe('the rate limit', () => {
  it('says the first arrival at once and a burst after it as one line per gap', () => {
    const clock = manualClock();
    const lines: Announcement[] = [];
    const a = new Announcer((l) => lines.push(l), clock);
    a.push(said('Ann', 1));
    expect(lines.map((l) => l.text), 'after a quiet spell: at once').toEqual(['Ann: line 1']);
    for (let i = 2; i <= 40; i++) {
      a.push(said(i % 2 ? 'Ann' : 'Bo', i));
      clock.advance(50);
    }
    expect(lines.length, 'nothing more within the gap, however many arrive').toBe(1);
    clock.advance(GAP_MS);
    expect(lines.map((l) => l.text), 'then the burst, counted').toEqual(['Ann: line 1', '39 new messages from Bo and Ann']);
    a.push(said('Cy', 41));
    expect(lines.length, 'the next one waits for the gap too').toBe(2);
    clock.advance(GAP_MS);
    expect(lines.at(-1)?.text, 'a single waiting arrival is said in full').toBe('Cy: line 41');
    clock.advance(GAP_MS * 10);
    a.push(said('Di', 42));
    expect(lines.at(-1)?.text, 'after quiet, at once again').toBe('Di: line 42');
    expect(new Set(lines.map((l) => l.id)).size, 'each line has its own id').toBe(lines.length);
  });

  it('the region keeps only the newest lines', () => {
    let region: Announcement[] = [];
    for (let i = 1; i <= KEEP + 3; i++) region = keep(region, { id: i, text: `line ${i}` });
    expect(region.map((l) => l.id)).toEqual(Array.from({ length: KEEP }, (_, i) => i + 4));
  });
});
