/**
 * Server-sent events as the WHATWG HTML standard defines their parsing (section "Parsing an
 * event stream"), reduced to what OpenAI-style servers use: `data:` lines, joined by "\n" within
 * one event, an event ending at a blank line; comments (`:` lines, keep-alives) and the other
 * fields (`event`, `id`, `retry`) are skipped. Lines end in LF, CRLF or CR, and any of them may
 * be split across network reads.
 */

/** One event: its data lines, joined. */
export interface SseEvent {
  data: string;
}

/** Incremental parser: feed it text as it arrives, take the events each piece completes. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  /** A CR ended the last piece: an LF at the start of the next belongs to the same line end. */
  private pendingCr = false;

  push(text: string): SseEvent[] {
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.buffer.slice(0, end);
      let next = end + 1;
      if (this.buffer[end] === '\r') {
        if (next === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[next] === '\n') next++;
      }
      this.buffer = this.buffer.slice(next);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Whether the stream stopped in the middle of an event (data read, no blank line yet). */
  get midEvent(): boolean {
    return this.data.length > 0 || this.buffer.length > 0;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) return null;
      const data = this.data.join('\n');
      this.data = [];
      return { data };
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    return null;
  }
}

/**
 * The events of a response body, as they arrive. Returns (rather than throws) when the body
 * ends; `onEnd` learns whether it ended mid-event. Errors of the body (a dropped connection,
 * an abort) propagate.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, onEnd: (midEvent: boolean) => void = () => {}): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    onEnd(parser.midEvent);
  } finally {
    // Leaving early (an abort, a consumer that stopped): close the connection now.
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
