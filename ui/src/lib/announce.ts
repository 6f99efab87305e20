// What a screen reader hears of the live inbox. The thread itself is a log a reader browses;
// arrivals are spoken from one polite live region instead, one short line each (who, and a
// bounded excerpt), at most one line per `GAP_MS`: a burst becomes one count ("5 new messages
// from María López and Priya R") rather than a minute of speech the rep cannot stop.
//
// The lines are the same words the Activity screen and the desktop notifications use, so what a
// notification says is in the app too: here as it happens, on Activity afterwards.

import { clip } from './format';
import type { ActivityEntry } from './state';
import type { StreamEvent } from './types';

/** At most one spoken line per this many milliseconds. */
export const GAP_MS = 2500;
/** A line is cut to this many characters. */
export const LINE_MAX = 160;
/** Lines kept in the region (older ones leave it; removals are not spoken). */
export const KEEP = 5;

export interface Announcement {
  id: number;
  text: string;
}

/** Something worth saying: who it is from (for a burst's summary) and the full line. */
export interface Arrival {
  who: string;
  text: string;
  message: boolean;
}

/**
 * The arrival a stream event announces, or null: what the rep is told about by a notification
 * (messages, reactions and calls from others, failed sends), unless the chat is muted.
 */
export function arrivalFor(ev: StreamEvent, entry: ActivityEntry | null, muted: (chatId: string) => boolean): Arrival | null {
  if (!entry) return null;
  const chatId = ev.message?.chat_id ?? ev.reaction?.chat_id ?? ev.call?.chat_id ?? ev.chat_id ?? null;
  if (chatId && muted(chatId)) return null;
  const who = entry.actor ?? 'Someone';
  const arrival = { who, text: clip(entry.text, LINE_MAX), message: entry.icon === 'message' };
  switch (entry.icon) {
    case 'message':
      return ev.event_type === 'message.received' ? arrival : null;
    case 'reaction':
      return who === 'You' ? null : arrival;
    case 'missed':
      return arrival;
    case 'call':
      return ev.call?.direction === 'outbound' ? null : arrival;
    default:
      return ev.event_type === 'message.failed' ? arrival : null;
  }
}

/** "Ann", "Ann and Bo", "Ann, Bo and Cy", "Ann, Bo, Cy and 2 more". */
function listNames(names: string[]): string {
  const shown = names.slice(0, 3);
  const rest = names.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  const last = shown.pop() ?? 'someone';
  return shown.length ? `${shown.join(', ')} and ${last}` : last;
}

/** One line for several arrivals: how many, and from whom (three names at most). */
export function summary(arrivals: Arrival[]): string {
  const what = arrivals.every((a) => a.message) ? 'new messages' : 'new updates';
  return `${arrivals.length} ${what} from ${listNames([...new Set(arrivals.map((a) => a.who))])}`;
}

/** The clock the announcer reads and the timer it sets; the browser's unless a test's. */
export interface Timing {
  now: () => number;
  later: (fn: () => void, ms: number) => unknown;
}

const BROWSER: Timing = { now: () => Date.now(), later: (fn, ms) => setTimeout(fn, ms) };

/**
 * Turns arrivals into lines for the live region, rate-limited: the first arrival after a quiet
 * spell is said at once; what arrives within `GAP_MS` of the last line waits and is said as
 * one line when the gap is over.
 */
export class Announcer {
  private pending: Arrival[] = [];
  private last = -Infinity;
  private waiting = false;
  private next = 1;

  constructor(
    private readonly emit: (line: Announcement) => void,
    private readonly timing: Timing = BROWSER,
  ) {}

  push(a: Arrival): void {
    this.pending.push(a);
    if (this.waiting) return;
    const wait = this.last + GAP_MS - this.timing.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.waiting = true;
    this.timing.later(() => this.flush(), wait);
  }

  private flush(): void {
    this.waiting = false;
    const batch = this.pending;
    this.pending = [];
    const first = batch[0];
    if (!first) return;
    this.last = this.timing.now();
    this.emit({ id: this.next++, text: batch.length === 1 ? first.text : summary(batch) });
  }
}

/** The region's lines after a new one: the newest `KEEP`. */
export function keep(lines: Announcement[], line: Announcement): Announcement[] {
  return [...lines, line].slice(-KEEP);
}
