import { describe, expect, it } from 'vitest';
import { chatName, clip, clock, dayLabel, droppedRefusals, duration, fileSize, fullTime, highlight, imageAlt, initials, isHttps, linkify, listTime, safeHref } from './format';

describe('links', () => {
  it('only http and https become links', () => {
    expect(safeHref('https://example.com/a?b=1'), 'https is a link').toBe('https://example.com/a?b=1');
    expect(safeHref('http://example.com/'), 'http is a link').toBe('http://example.com/');
    expect(safeHref('javascript:alert(1)'), 'javascript: is never a link').toBeNull();
    expect(safeHref(' JavaScript:alert(1)'), 'case and spaces do not sneak javascript: through').toBeNull();
    expect(safeHref('data:text/html,<script>'), 'data: is never a link').toBeNull();
    expect(safeHref('/relative'), 'relative URLs are not links').toBeNull();
    expect(isHttps('http://x.test/a.png'), 'plain http never loads inline').toBe(false);
    expect(isHttps('https://x.test/a.png')).toBe(true);
  });

  it('linkify keeps hostile text as text and trims trailing punctuation', () => {
    const parts = linkify('see https://a.test/x. and javascript:alert(1) <script>');
    expect(parts).toEqual([
      { text: 'see ', href: null },
      { text: 'https://a.test/x', href: 'https://a.test/x' },
      { text: '. and javascript:alert(1) <script>', href: null },
    ]);
    expect(linkify('no links here')).toEqual([{ text: 'no links here', href: null }]);
  });
});

describe('highlights', () => {
  it('uses code point offsets, so astral characters do not shift marks', () => {
    // "😀 tomorrow": the emoji is one code point but two UTF-16 units.
    const parts = highlight('😀 tomorrow', [{ start: 2, end: 10 }]);
    expect(parts).toEqual([
      { text: '😀 ', mark: false },
      { text: 'tomorrow', mark: true },
    ]);
  });
  it('tolerates overlapping and out-of-range ranges', () => {
    const parts = highlight('abcdef', [{ start: 4, end: 99 }, { start: 1, end: 3 }, { start: 2, end: 5 }]);
    expect(parts.map((p) => (p.mark ? `[${p.text}]` : p.text)).join('')).toBe('a[bc][de][f]');
  });
});

describe('names', () => {
  const handles = [
    { identifier: '+15551234567', display_name: 'John D', is_me: false, name: 'John Doe' },
    { identifier: '+15559876543', display_name: 'Me', is_me: true, name: 'Me' },
  ];
  it('prefers the title, then the other party, never the rep', () => {
    expect(chatName({ chat_id: '1', title: 'Renewal team', handles, members: [] })).toBe('Renewal team');
    expect(chatName({ chat_id: '1', title: '', handles, members: [] })).toBe('John Doe');
    expect(chatName({ chat_id: '1', title: '', handles: [{ ...handles[0]!, name: '', display_name: null }], members: [] })).toBe('+15551234567');
  });
  it('initials come from letters only', () => {
    expect(initials('María López')).toBe('ML');
    expect(initials('+1 555 123')).toBe('#');
    expect(initials('priya')).toBe('P');
    expect(initials('<img src=x onerror=alert(9)>'), 'markup characters are not letters').toBe('IO');
  });
});

describe('file sizes', () => {
  it('reads in the engine\'s units', () => {
    expect(fileSize(812), 'bytes').toBe('812 B');
    expect(fileSize(1_500_000), 'one decimal below ten').toBe('1.5 MB');
    expect(fileSize(2_000_000), 'no trailing .0').toBe('2 MB');
    expect(fileSize(5_000_000_000), 'gigabytes').toBe('5 GB');
    expect(fileSize(null), 'unknown: nothing').toBe('');
  });
});

describe('durations and clipping', () => {
  it('reads like a person would say it', () => {
    expect(duration(40)).toBe('40 s');
    expect(duration(330)).toBe('5 min 30 s');
    expect(duration(3720)).toBe('1 h 2 min');
    expect(duration(null)).toBe('');
  });
  it('clips by code points', () => {
    expect(clip('a'.repeat(10), 5)).toBe('aaaa…');
    expect(Array.from(clip('😀'.repeat(10), 5))).toHaveLength(5);
  });
});

describe('times', () => {
  // The formatters are cached Intl.DateTimeFormat objects: they must read exactly as the
  // per-call toLocale*String they replace, whichever options come first.
  it('match toLocale*String with the same options', () => {
    const now = new Date(2026, 10, 27, 15, 35);
    const d = new Date(2026, 10, 23, 9, 5);
    for (let i = 0; i < 2; i++) {
      expect(clock(d)).toBe(d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }));
      expect(dayLabel(d, now)).toBe(d.toLocaleDateString(undefined, { weekday: 'long' }));
      expect(dayLabel(new Date(2025, 4, 21), now)).toBe(new Date(2025, 4, 21).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }));
      expect(listTime(d.toISOString(), now)).toBe(d.toLocaleDateString(undefined, { weekday: 'short' }));
      expect(listTime(new Date(2026, 0, 2).toISOString(), now)).toBe(new Date(2026, 0, 2).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }));
      expect(fullTime(d.toISOString())).toBe(d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
    }
    expect(dayLabel(now, now)).toBe('Today');
  });
});

describe('refusals the app could not record', () => {
  it('says how many, in words a rep reads', () => {
    expect(droppedRefusals(312), 'the count is named').toBe('312 more refused deliveries were not recorded while the app was busy.');
    expect(droppedRefusals(1), 'one is singular').toBe('1 more refused delivery was not recorded while the app was busy.');
    expect(droppedRefusals(12000), 'large counts are grouped').toBe('12,000 more refused deliveries were not recorded while the app was busy.');
    expect(droppedRefusals(0), 'nothing dropped says nothing').toBeNull();
    expect(droppedRefusals(undefined), 'an older engine says nothing').toBeNull();
  });
});

describe('imageAlt', () => {
  it('says the caption, else the file name, else that it is an image', () => {
    expect(imageAlt('IMG_2041.HEIC', 'The signed contract, page 2')).toBe('Image: The signed contract, page 2');
    expect(imageAlt('floor-plan.png', null)).toBe('Image: floor-plan.png');
    expect(imageAlt('floor-plan.png', '   ')).toBe('Image: floor-plan.png');
    expect(imageAlt(null, null)).toBe('Image');
    expect(Array.from(imageAlt(null, 'x'.repeat(500))).length, 'bounded').toBeLessThanOrEqual(127);
  });
});
