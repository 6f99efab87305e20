import { describe, expect, it } from 'vitest';
import { href, parseRoute } from './router.svelte';

describe('routes', () => {
  it('round-trips ids with odd characters', () => {
    const h = href('chats', 'a/b c', 'm#1');
    expect(parseRoute(h)).toEqual({ section: 'chats', id: 'a/b c', messageId: 'm#1' });
  });
  it('falls back to activity for unknown or empty hashes', () => {
    expect(parseRoute('').section).toBe('activity');
    expect(parseRoute('#/nope/1').section).toBe('activity');
    expect(parseRoute('#/calls/9')).toEqual({ section: 'calls', id: '9', messageId: null });
  });
});
