import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('parses events split across chunks, with ids and comments', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\n\nid: 7\nevent: message.rec')).toEqual([]);
    const out = p.push('eived\ndata: {"a":1}\n\n');
    expect(out).toEqual([{ event: 'message.received', data: '{"a":1}', id: '7' }]);
    expect(p.lastEventId, 'the id is remembered for resuming').toBe('7');
  });

  it('handles CRLF, multi-line data and events without id', () => {
    const p = new SseParser();
    const out = p.push('event: typing\r\ndata: {"x":\r\ndata: 2}\r\n\r\n');
    expect(out).toEqual([{ event: 'typing', data: '{"x":\n2}', id: null }]);
  });

  it('waits when a chunk ends between \\r and \\n', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'message', data: 'a', id: null }]);
  });

  it('ignores a block without data', () => {
    const p = new SseParser();
    expect(p.push('event: x\n\n')).toEqual([]);
  });
});
