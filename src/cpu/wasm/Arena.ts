/**
 * Lays out one WebAssembly memory: regions are reserved first (sizes only), then the memory is made
 * once at its final size, so no region moves and no typed-array view is ever detached by a grow.
 */
export class Arena {
  private top = 0;

  /** Reserves `bytes` at a 16-byte boundary (v128 loads and f64 stores are aligned there) and returns its offset. */
  reserve(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16; // not & ~15: offsets pass 2^31
    this.top = at + bytes;
    return at;
  }

  get bytes(): number {
    return this.top;
  }
}
