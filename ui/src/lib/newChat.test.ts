import { describe, expect, it } from 'vitest';
import { parseNumber, pickableContacts, sendingLines } from './newChat';
import type { Contact } from './types';

describe('a new conversation', () => {
  it('takes an international number however it is spaced', () => {
    expect(parseNumber('+1 (415) 555-0199')).toEqual({ number: '+14155550199' });
    expect(parseNumber(' +44 20 7183 8750 ')).toEqual({ number: '+442071838750' });
  });

  it('says what is wrong with a number that is not international', () => {
    expect(parseNumber('')).toEqual({ error: 'Enter a phone number.' });
    expect(parseNumber('415 555 0199')).toEqual({ error: 'Start with + and the country code, like +1 415 555 0123.' });
    expect(parseNumber('+1 415 CALL NOW')).toEqual({ error: 'A phone number has only digits after the +.' });
    expect(parseNumber('+0123456789')).toEqual({ error: 'A country code never starts with 0.' });
    expect('error' in parseNumber('+1234')).toBe(true);
  });

  it("offers each of the rep's lines once", () => {
    expect(sendingLines(['+14155550100'], ['+14155550100', '+14155550111'])).toEqual(['+14155550100', '+14155550111']);
  });

  it('lists contacts with a number, by name', () => {
    const c = (p: Partial<Contact>): Contact => ({ id: p.id ?? 'x', first_name: null, last_name: null, full_name: null, email: null,
      phone_number: null, company: null, title: null, location: null, image_url: null, created_at: null, created_at_original: null,
      updated_at: null, updated_at_original: null, owner: null, chat_id: null, ...p });
    const list = pickableContacts([c({ id: '1', full_name: 'Zoe', phone_number: '+14155550102' }), c({ id: '2', full_name: 'No Phone' }),
      c({ id: '3', first_name: 'Ann', last_name: 'Lee', phone_number: '+14155550101' })]);
    expect(list).toEqual([
      { label: 'Ann Lee (+14155550101)', number: '+14155550101' },
      { label: 'Zoe (+14155550102)', number: '+14155550102' },
    ]);
  });
});
