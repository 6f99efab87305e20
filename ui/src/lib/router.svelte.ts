// Hash routing: `#/chats/<id>`, `#/chats/<id>/m/<message>`, `#/chats/<id>/reply` (the thread
// with the composer focused: the notification's Reply action lands here), `#/calls/<id>`, `#/contacts/<id>`,
// `#/events/<seq>`, `#/activity`, `#/setup`, `#/settings`.

export type Section = 'activity' | 'chats' | 'calls' | 'contacts' | 'events' | 'setup' | 'settings';

export interface Route {
  section: Section;
  id: string | null;
  messageId: string | null;
  /** `#/chats/<id>/reply`: focus the composer. */
  reply: boolean;
}

const SECTIONS: Section[] = ['activity', 'chats', 'calls', 'contacts', 'events', 'setup', 'settings'];

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/u, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const section = SECTIONS.find((s) => s === parts[0]) ?? 'activity';
  const id = parts[1] ? parts[1] : null;
  const messageId = section === 'chats' && parts[2] === 'm' && parts[3] ? parts[3] : null;
  const reply = section === 'chats' && id !== null && parts[2] === 'reply';
  return { section, id, messageId, reply };
}

export function href(section: Section, id?: string | null, messageId?: string | null): string {
  let h = `#/${section}`;
  if (id) h += `/${encodeURIComponent(id)}`;
  if (id && messageId) h += `/m/${encodeURIComponent(messageId)}`;
  return h;
}

/** The chat's thread with the composer focused. */
export function replyHref(chatId: string): string {
  return `#/chats/${encodeURIComponent(chatId)}/reply`;
}

class Router {
  route = $state<Route>(parseRoute(typeof location === 'undefined' ? '' : location.hash));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('hashchange', () => {
        this.route = parseRoute(location.hash);
      });
    }
  }

  go(h: string): void {
    if (location.hash === h) this.route = parseRoute(h);
    else location.hash = h;
  }
}

export const router = new Router();
