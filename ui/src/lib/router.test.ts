import { describe, expect, it } from 'vitest';
import { href, parseRoute, replyHref } from './router.svelte';

describe('routes', () => {
  it('round-trips ids with odd characters', () => {
    const h = href('chats', 'a/b c', 'm#1');
    expect(parseRoute(h)).toEqual({ section: 'chats', id: 'a/b c', messageId: 'm#1', reply: false });
  });
  it('falls back to activity for unknown or empty hashes', () => {
    expect(parseRoute('').section).toBe('activity');
    expect(parseRoute('#/nope/1').section).toBe('activity');
    expect(parseRoute('#/calls/9')).toEqual({ section: 'calls', id: '9', messageId: null, reply: false });
  });
  it('`#/chats/<id>/reply` opens the thread with the composer focused', () => {
    expect(replyHref('c/1')).toBe('#/chats/c%2F1/reply');
    expect(parseRoute(replyHref('c/1'))).toEqual({ section: 'chats', id: 'c/1', messageId: null, reply: true });
    expect(parseRoute('#/calls/9/reply').reply).toBe(false);
  });
});
