import { describe, expect, it, vi } from 'vitest';
import { canSend, debounce, fileProblem, MAX_FILE_BYTES, keyAction, limit, MAX_TEXT, ReplyIdentity, statusText, withoutOlderCopy } from './composer';
import { msg } from './testing/fixtures';

const key = (over: Partial<Parameters<typeof keyAction>[0]> = {}) => ({ key: 'Enter', shiftKey: false, isComposing: false, ...over });

describe('which key sends', () => {
  it('Enter sends, Shift+Enter breaks the line, other keys do nothing', () => {
    expect(keyAction(key())).toBe('send');
    expect(keyAction(key({ shiftKey: true }))).toBe('newline');
    expect(keyAction(key({ key: 'a' }))).toBe('none');
  });
  it('never sends while an input method is composing', () => {
    expect(keyAction(key({ isComposing: true }))).toBe('none');
    expect(keyAction(key({ keyCode: 229 }))).toBe('none');
  });
});

describe('the length limit', () => {
  it('is shown before it is hit and refuses a longer reply', () => {
    expect(limit('hello').show).toBe(false);
    const near = limit('x'.repeat(9_500));
    expect(near.show).toBe(true);
    expect(near.text).toBe('500 characters left');
    expect(canSend('x'.repeat(MAX_TEXT))).toBe(true);
    const over = limit('x'.repeat(MAX_TEXT + 3));
    expect(over.over).toBe(true);
    expect(over.text).toContain('3 characters over');
    expect(canSend('x'.repeat(MAX_TEXT + 1))).toBe(false);
  });
  it('counts an emoji as one character, as Linq does', () => {
    expect(limit('👍👍').count).toBe(2);
  });
  it('an empty or blank reply cannot be sent', () => {
    expect(canSend('  \n ')).toBe(false);
  });
});

describe('attaching a file', () => {
  it('is refused over Linq\'s 100 MB before anything is uploaded, and a file alone can be sent', () => {
    expect(fileProblem({ name: 'plan.pdf', size: 2048 }, 0)).toBeNull();
    expect(fileProblem({ name: 'film.mov', size: MAX_FILE_BYTES + 1 }, 0)).toBe('film.mov is 100.0 MB, over Linq\'s 100 MB limit for an attachment.');
    expect(fileProblem({ name: 'x', size: 0 }, 0)).toBe('x is empty.');
    expect(fileProblem({ name: 'y', size: 1 }, 10)).toContain('at most 10');
    expect(canSend('', 1)).toBe(true);
    expect(canSend('', 0)).toBe(false);
  });
});

describe('one client id per reply', () => {
  it('a second Enter while the first is on its way sends nothing, a failed request keeps the id', () => {
    let n = 0;
    const id = new ReplyIdentity(() => `id-${++n}`);
    expect(id.begin()).toBe('id-1');
    expect(id.begin()).toBeNull();
    id.end(false);
    expect(id.begin()).toBe('id-1');
    id.end(true);
    expect(id.begin()).toBe('id-2');
  });
});

describe('debounce', () => {
  it('calls once with the last arguments, and flush runs it now', () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const d = debounce((s: string) => seen.push(s), 100);
    d.call('a');
    d.call('ab');
    vi.advanceTimersByTime(99);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(['ab']);
    d.call('abc');
    d.flush();
    expect(seen).toEqual(['ab', 'abc']);
    d.call('x');
    d.cancel();
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(['ab', 'abc']);
    vi.useRealTimers();
  });
});

describe('one bubble per reply', () => {
  it('Linq\'s copy under its own id replaces the local bubble with the same client id', () => {
    const local = msg('local:k1', '2026-12-04T10:00:00Z', { direction: 'outbound', client_id: 'k1', status: 'sending' });
    const other = msg('2', '2026-12-04T09:00:00Z');
    const linq = msg('L-1', '2026-12-04T10:00:01Z', { direction: 'outbound', client_id: 'k1', status: 'sent' });
    expect(withoutOlderCopy([other, local], linq).map((m) => m.id)).toEqual(['2']);
    expect(withoutOlderCopy([other, local], local)).toHaveLength(2);
  });
});

describe('status words', () => {
  it('name the outbox states of the rep\'s own reply and Linq\'s sentence on failure', () => {
    const own = (over: Parameters<typeof msg>[2]) => msg('local:k', '2026-12-04T10:00:00Z', { direction: 'outbound', client_id: 'k', ...over });
    expect(statusText(own({ status: 'sending' }))).toBe('Sending…');
    expect(statusText(own({ status: 'sent' }))).toBe('Sent');
    expect(statusText(own({ status: 'failed', error: 'The recipient has opted out.' }))).toBe('Not sent: The recipient has opted out.');
    expect(statusText(own({ status: 'delivered' }))).toBeNull();
    expect(statusText(msg('1', '2026-12-04T10:00:00Z', { status: 'sent' }))).toBeNull();
  });
});
