import { describe, expect, it } from 'vitest';
import { isSet, nextOperation, reactionStatusText, TAPBACKS } from './reactions';
import type { Reaction } from './types';

function r(partial: Partial<Reaction>): Reaction {
  return { id: 'x', reaction: 'love', from: null, from_name: null, is_from_me: true, sent_at: null, ...partial };
}

describe('the tapback picker', () => {
  it('offers the six tapbacks Linq takes', () => {
    expect([...TAPBACKS]).toEqual(['love', 'like', 'dislike', 'laugh', 'emphasize', 'question']);
  });

  it('adds a tapback that is not set and removes one that is (a toggle)', () => {
    const none = { reactions: [] };
    expect(nextOperation(none, 'like')).toBe('add');
    const liked = { reactions: [r({ reaction: 'like' })] };
    expect(nextOperation(liked, 'like')).toBe('remove');
    expect(isSet(liked, 'like')).toBe(true);
    expect(nextOperation(liked, 'love')).toBe('add');
  });

  it("counts only the rep's own reaction, never a customer's of the same kind", () => {
    const theirs = { reactions: [r({ reaction: 'laugh', is_from_me: false, from: '+1415' })] };
    expect(isSet(theirs, 'laugh')).toBe(false);
    expect(nextOperation(theirs, 'laugh')).toBe('add');
  });

  it('tries a failed change again as what failed', () => {
    const failedAdd = { reactions: [r({ reaction: 'love', status: 'failed', operation: 'add', error: 'opted out' })] };
    expect(nextOperation(failedAdd, 'love')).toBe('add');
    expect(isSet(failedAdd, 'love')).toBe(false);
    const failedRemove = { reactions: [r({ reaction: 'love', status: 'failed', operation: 'remove' })] };
    expect(nextOperation(failedRemove, 'love')).toBe('remove');
    expect(isSet(failedRemove, 'love')).toBe(true);
  });

  it('says what the outbox is doing, and why Linq refused', () => {
    expect(reactionStatusText(r({ status: 'sending', operation: 'add' }))).toBe('Sending…');
    expect(reactionStatusText(r({ status: 'failed', operation: 'add', error: 'The recipient opted out.' }))).toBe(
      'Your reaction was not sent: The recipient opted out.',
    );
    expect(reactionStatusText(r({}))).toBeNull();
  });
});
