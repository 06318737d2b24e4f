/**
 * Block hashing for the prefix cache: MurmurHash3 x86_128 (Austin Appleby, public domain),
 * fed 32-bit words and giving 128 bits.
 *
 * Why this hash: it is synchronous (crypto.subtle is async, and it runs once per full block on
 * the scheduling path), needs only 32-bit integer math (Math.imul; no BigInt, which is slow),
 * mixes well (it passes SMHasher), and 128 bits make an accidental collision between blocks
 * vanishingly rare. It is not cryptographic, which is why PrefixCache still checks every hit's
 * tokens, parent and salt before it reuses a block.
 */

/** A block hash: 32 lowercase hex digits (128 bits). A string so that it is a cheap Map key. */
export type BlockHash = string;

/** A salt reduced to four 32-bit words, folded into every block hash of a chain. */
export type SaltDigest = Uint32Array;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * MurmurHash3_x86_128 of `words` read as little-endian 32-bit integers (so the same as the
 * reference C function over the bytes of a Uint32Array). Returns the four output words.
 */
export function murmur3x86_128(words: ArrayLike<number>, seed = 0): Uint32Array {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const n = words.length;
  const body = n - (n & 3);
  for (let i = 0; i < body; i += 4) {
    let k1 = words[i] | 0;
    let k2 = words[i + 1] | 0;
    let k3 = words[i + 2] | 0;
    let k4 = words[i + 3] | 0;
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul((rotl(h2, 17) + h3) | 0, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul((rotl(h3, 15) + h4) | 0, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul((rotl(h4, 13) + h1) | 0, 5) + 0x32ac3b17) | 0;
  }
  // Tail: whole words only, so the byte cases 12, 8 and 4 of the reference.
  const rem = n & 3;
  if (rem >= 3) h3 ^= Math.imul(rotl(Math.imul(words[body + 2] | 0, C3), 17), C4);
  if (rem >= 2) h2 ^= Math.imul(rotl(Math.imul(words[body + 1] | 0, C2), 16), C3);
  if (rem >= 1) h1 ^= Math.imul(rotl(Math.imul(words[body] | 0, C1), 15), C2);

  const len = n * 4;
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  return Uint32Array.of(h1, h2, h3, h4);
}

function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

export function digestToHex(d: Uint32Array): BlockHash {
  return hex32(d[0]) + hex32(d[1]) + hex32(d[2]) + hex32(d[3]);
}

/** Digest of a salt string (its UTF-16 code units, one per word). */
export function saltDigest(salt: string): SaltDigest {
  const units = new Uint32Array(salt.length);
  for (let i = 0; i < salt.length; i++) units[i] = salt.charCodeAt(i);
  return murmur3x86_128(units);
}

const HEADER_WORDS = 8; // 4 for the parent hash, 4 for the salt
let scratch = new Uint32Array(HEADER_WORDS + 16);

/**
 * hash = H(parent_hash, the block's token ids, salt): chaining in the parent makes a block's
 * hash stand for its whole prefix, so equal blocks at different places never match.
 * `parent` is null for a sequence's first block.
 */
export function hashBlock(
  parent: BlockHash | null,
  salt: SaltDigest,
  tokens: ArrayLike<number>,
  start: number,
  end: number,
): BlockHash {
  const words = HEADER_WORDS + (end - start);
  if (scratch.length < words) scratch = new Uint32Array(words);
  for (let i = 0; i < 4; i++) scratch[i] = parent === null ? 0 : parseInt(parent.slice(i * 8, i * 8 + 8), 16);
  scratch.set(salt, 4);
  for (let i = start; i < end; i++) scratch[HEADER_WORDS + i - start] = tokens[i];
  return digestToHex(murmur3x86_128(scratch.subarray(0, words)));
}
