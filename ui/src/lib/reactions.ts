// The rep's tapbacks (issue 20 §4): which six there are, what picking one does, and the client
// key a change carries. Pure, so the picker's toggling is tested without a browser.

import { REACTION_EMOJI } from './format';
import type { Message, Reaction } from './types';

export const TAPBACKS = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question'] as const;
export type Tapback = (typeof TAPBACKS)[number];
export type Operation = 'add' | 'remove';

/** The accessible name of each tapback button. */
export const TAPBACK_NAME: Record<Tapback, string> = {
  love: 'Love',
  like: 'Like',
  dislike: 'Dislike',
  laugh: 'Ha ha',
  emphasize: 'Emphasize',
  question: 'Question',
};

export function tapbackGlyph(kind: Tapback): string {
  return REACTION_EMOJI[kind] ?? kind;
}

/** The rep's own reaction of `kind` on `message`, as the bubble shows it. */
export function myReaction(message: Pick<Message, 'reactions'>, kind: string): Reaction | null {
  return message.reactions.find((r) => r.is_from_me && r.reaction === kind) ?? null;
}

/** Whether the rep's `kind` is on the message (for the picker's pressed state). */
export function isSet(message: Pick<Message, 'reactions'>, kind: string): boolean {
  const mine = myReaction(message, kind);
  return mine !== null && !(mine.status === 'failed' && mine.operation === 'add');
}

/**
 * What picking `kind` asks for: a tapback already set is removed (the toggle), one not set is
 * added, and one that failed is tried again as what failed.
 */
export function nextOperation(message: Pick<Message, 'reactions'>, kind: string): Operation {
  const mine = myReaction(message, kind);
  if (!mine) return 'add';
  if (mine.status === 'failed') return mine.operation ?? 'add';
  return 'remove';
}

/** A reaction's outbox state in words, for the bubble: null once Linq took it. */
export function reactionStatusText(r: Reaction): string | null {
  if (r.status === 'sending') return r.operation === 'remove' ? 'Removing…' : 'Sending…';
  if (r.status === 'failed') {
    const what = r.operation === 'remove' ? 'Your reaction was not removed' : 'Your reaction was not sent';
    return r.error ? `${what}: ${r.error}` : `${what}.`;
  }
  return null;
}

/** A fresh client key for one change (the engine's idempotency key for it). */
export function newClientId(random: () => string = () => crypto.randomUUID()): string {
  return random();
}
