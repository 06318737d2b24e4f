import { sha256 } from '@noble/hashes/sha2.js';
import type { LoadMeter } from '../model/loadModel.ts';

/**
 * A file read front to back from its chunks, holding only the chunks not yet consumed: a
 * tensor's bytes are copied out into an array of their own (never a view, which would keep a
 * whole chunk alive), and a chunk is let go as soon as the read position passes its end. The
 * meter counts every chunk from when it arrives until it is let go. Every chunk is hashed as it
 * arrives (SHA-256, incrementally: WebCrypto has no streaming digest), so the file's digest
 * needs no second pass.
 */
export class ChunkReader {
  private readonly queue: Uint8Array[] = [];
  /** Bytes of queue[0] already consumed. */
  private head = 0;
  /** Bytes in the queue, consumed ones of queue[0] included. */
  private queued = 0;
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly hash = sha256.create();

  constructor(
    chunks: AsyncIterable<Uint8Array>,
    private readonly meter?: LoadMeter,
  ) {
    this.it = chunks[Symbol.asyncIterator]();
  }

  /** The file offset of the next byte to be read. */
  get position(): number {
    return this.pos;
  }

  /** The first `n` bytes from the position (fewer where the file ends first), as a copy; nothing is consumed. */
  async peek(n: number): Promise<Uint8Array> {
    while (this.buffered() < n && (await this.pull()));
    const out = new Uint8Array(Math.min(n, this.buffered()));
    this.copyInto(out, false);
    return out;
  }

  /** Moves the position forward to `offset`; false when the file ends first (the position is then its end). */
  async skipTo(offset: number): Promise<boolean> {
    while (this.pos < offset) {
      if (this.queue.length === 0 && !(await this.pull())) return false;
      const take = Math.min(offset - this.pos, this.queue[0].length - this.head);
      this.consume(take);
    }
    return true;
  }

  /** The next `n` bytes in an array of their own; null when the file ends first (the position is then its end). */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.buffered() < n) {
      if (!(await this.pull())) {
        this.consume(this.buffered());
        return null;
      }
    }
    const out = new Uint8Array(n);
    this.copyInto(out, true);
    return out;
  }

  /** Reads to the end of the file and returns its SHA-256 (lowercase hex). */
  async digest(): Promise<string> {
    await this.skipTo(Number.POSITIVE_INFINITY);
    return Array.from(this.hash.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** Stops reading: the source may close its file or response. Idempotent. */
  async close(): Promise<void> {
    this.consume(this.buffered());
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }

  private buffered(): number {
    return this.queued - this.head;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.it.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    if (next.value.length > 0) {
      this.hash.update(next.value);
      this.queue.push(next.value);
      this.queued += next.value.length;
      this.meter?.hold(next.value.length);
    }
    return true;
  }

  private copyInto(out: Uint8Array, consume: boolean): void {
    let at = 0;
    let head = this.head;
    for (const chunk of this.queue) {
      if (at === out.length) break;
      const take = Math.min(out.length - at, chunk.length - head);
      out.set(chunk.subarray(head, head + take), at);
      at += take;
      head = 0;
    }
    if (consume) this.consume(out.length);
  }

  private consume(n: number): void {
    this.pos += n;
    while (n > 0) {
      const first = this.queue[0];
      const take = Math.min(n, first.length - this.head);
      n -= take;
      this.head += take;
      if (this.head === first.length) {
        this.queue.shift();
        this.queued -= first.length;
        this.head = 0;
        this.meter?.release(first.length);
      }
    }
  }
}
