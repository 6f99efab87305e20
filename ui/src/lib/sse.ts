// A Server-Sent Events parser (the WHATWG event-stream format). The stream is read with
// `fetch` rather than `EventSource` so that every event type reaches one handler (Linq adds
// event types; `EventSource` only delivers the names it was told in advance), the resume
// point is explicit (`Last-Event-ID`), and an expired session (401) is told apart from a
// server that is restarting.

export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | null = null;
  private sawId = false;
  /** The last `id:` seen, kept across messages as the spec's "last event ID buffer". */
  lastEventId: string | null = null;
  retry: number | null = null;

  /** Feeds a chunk of decoded text; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/u.exec(this.buffer);
      if (!m) break;
      // A lone `\r` at the very end might be the first half of `\r\n`: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      const hadData = this.data.length > 0;
      const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), id: this.sawId ? this.id : null };
      this.event = '';
      this.data = [];
      this.sawId = false;
      this.id = null;
      return hadData ? msg : null;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.id = value;
          this.sawId = true;
          this.lastEventId = value;
        }
        break;
      case 'retry':
        if (/^\d+$/u.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return null;
  }
}
