/** Decodes a whole id sequence; the StreamDecoder needs nothing else from a tokenizer. */
export type DecodeIds = (ids: readonly number[]) => string;

/** The replacement character: what a byte sequence cut inside a UTF-8 character decodes to. */
const INCOMPLETE = '\uFFFD';

/**
 * Turns generated ids into text as they arrive, one id at a time.
 *
 * A token's text is not always known from the token alone: byte-fallback tokens may only form
 * a character together with the next ones, and decoders strip the leading space of the first
 * token. So each step decodes a short window twice, the ids up to the last emitted point and
 * the same ids plus the new ones, and emits the difference, holding it back while it ends in
 * an unfinished character (the approach of Hugging Face's TGI and vLLM). Concatenating every
 * push and the final flush gives decode(all ids).
 */
export class StreamDecoder {
  private readonly ids: number[];
  /** Start of the window: context for the decoder, already emitted. */
  private prefixOffset: number;
  /** End of what has been emitted. */
  private readOffset: number;

  /**
   * @param context ids that come before the stream and must not be emitted (the prompt's tail),
   *   so that the first streamed token keeps the space a decode of it alone would strip.
   */
  constructor(private readonly decode: DecodeIds, context: readonly number[] = []) {
    this.ids = [...context];
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
  }

  /** Adds one id; returns the text it completes (often '', or more than its own piece). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.pending();
    if (text.length === 0 || text.endsWith(INCOMPLETE)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return text;
  }

  /** Returns whatever is held back (an unfinished character decodes to U+FFFD) and ends the window. */
  flush(): string {
    const text = this.pending();
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return text;
  }

  private pending(): string {
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    // decoders Folio supports only append; were one to rewrite earlier text, wait for more
    return after.startsWith(before) ? after.slice(before.length) : '';
  }
}
