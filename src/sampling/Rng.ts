/**
 * A seeded PRNG (mulberry32): the same seed gives the same draws in Node, in a browser and
 * in a worker, which is what makes seeded sampling reproducible across backends.
 *
 * mulberry32's state is 32 bits, so a seed's bits above 2^32 would be dropped and seeds 1 and
 * 2^32 + 1 would draw alike. They pick a stream instead: a key mixed into every draw after the
 * state's own mixing (0 for seeds below 2^32, so those draw as plain mulberry32 always did).
 * Two seeds then draw alike only if their mixed states differ by the same constant at every
 * step, which mulberry32's mixing does not allow in practice.
 */
export class Rng {
  private state: number;
  private readonly stream: number;
  /**
   * `offset` (a non-negative safe integer) is added to the seed exactly, as `seed + offset`
   * would be were it not rounded past 2^53: per-choice streams of one seed use it.
   */
  constructor(seed: number, offset = 0) {
    const low = (seed >>> 0) + offset;
    this.state = low >>> 0;
    // The bits above 32, exact for every safe integer (negative seeds included), keyed by an
    // odd multiplier: a bijection on 32-bit words, so distinct high parts give distinct keys.
    const high = Math.floor(seed / 4294967296) + Math.floor(low / 4294967296);
    this.stream = Number.isFinite(high) ? Math.imul(high | 0, 0x9e3779b1) >>> 0 : 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t ^= this.stream;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
