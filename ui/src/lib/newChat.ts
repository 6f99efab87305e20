// A new conversation (issue 20 §3): what the dialog checks before it asks the engine, and which
// lines it offers. Pure, so it is tested without a browser.

import type { Contact } from './types';

/**
 * The number the rep typed in E.164 (`+` and 8 to 15 digits), spaces, dashes, dots and brackets
 * dropped; or a sentence saying what is wrong.
 */
export function parseNumber(typed: string): { number: string } | { error: string } {
  const compact = typed.trim().replace(/[\s\-().]/gu, '');
  if (!compact) return { error: 'Enter a phone number.' };
  if (!compact.startsWith('+')) return { error: 'Start with + and the country code, like +1 415 555 0123.' };
  const digits = compact.slice(1);
  if (!/^\d+$/u.test(digits)) return { error: 'A phone number has only digits after the +.' };
  if (digits.startsWith('0')) return { error: 'A country code never starts with 0.' };
  if (digits.length < 8 || digits.length > 15) return { error: 'That number is too short or too long for an international number.' };
  return { number: compact };
}

/** The lines to send from: the account's (Linq's list) and the rep's own handles in chats, once each. */
export function sendingLines(fromLinq: string[], fromChats: string[]): string[] {
  return [...new Set([...fromLinq, ...fromChats])].filter((n) => 'number' in parseNumber(n));
}

/** Contacts the dialog can pick: those with a phone number, by name. */
export function pickableContacts(contacts: Contact[]): { label: string; number: string }[] {
  return contacts
    .filter((c) => c.phone_number)
    .map((c) => {
      const name = c.full_name || [c.first_name, c.last_name].filter(Boolean).join(' ') || c.phone_number || '';
      return { label: `${name} (${c.phone_number})`, number: c.phone_number ?? '' };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}
