import type { Tokenizer } from '../tokenizer/Tokenizer.ts';

const REPLACEMENT = '\ufffd';

/**
 * The bytes of tokens that hold part of a UTF-8 character, which decode to U+FFFD alone, read
 * back through the decoder only (no knowledge of the vocabulary's format):
 *
 * 1. Single-byte tokens: characters covering every byte of UTF-8 (probeCharacters) are
 *    encoded alone; where it comes out as one such token per byte (byte fallback, or a
 *    byte-level BPE with no merge for it), each token is that byte.
 * 2. Longer ones (byte-level BPE pieces cut inside a character): decoded between single-byte
 *    tokens that complete the cut characters (a lead byte before, continuation bytes after);
 *    where the result has no U+FFFD, the token's bytes are the result's less the added ones.
 *
 * Each answer is checked: the token's bytes, decoded as the decoder does (U+FFFD for what is
 * cut), must give back its own decode. Tokens never resolved are left out.
 */
export function partialTokenBytes(tokenizer: Tokenizer, ids: readonly number[], context: readonly number[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (ids.length === 0) return out;
  const pending = new Set(ids);
  const enc = new TextEncoder();
  const tokenOfByte = new Map<number, number>();
  for (const ch of probeCharacters()) {
    const got = tokenizer.encode(ch, { addBos: false });
    const bytes = enc.encode(ch);
    if (got.length < bytes.length) continue;
    const run = got.slice(got.length - bytes.length);
    if (!run.every((id) => pending.has(id) && (!out.has(id) || out.get(id)![0] === bytes[run.indexOf(id)]))) continue;
    run.forEach((id, i) => {
      out.set(id, Uint8Array.of(bytes[i]));
      tokenOfByte.set(bytes[i], id);
    });
  }
  const prefix = tokenizer.decode(context);
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const checked = (id: number, bytes: Uint8Array): boolean => tokenizer.decode([...context, id]) === prefix + decoder.decode(bytes);
  for (const id of out.keys()) if (!checked(id, out.get(id)!)) out.delete(id);
  const leads = [[], [0xc2], [0xe1], [0xf1], [0xe1, 0x80], [0xf1, 0x80], [0xf1, 0x80, 0x80]];
  const tails = [[], [0x80], [0x80, 0x80], [0x80, 0x80, 0x80]];
  for (const id of pending) {
    if (out.has(id)) continue;
    search: for (const lead of leads) {
      for (const tail of tails) {
        if (lead.length + tail.length === 0) continue;
        const around = [...lead, ...tail].map((b) => tokenOfByte.get(b));
        if (around.some((t) => t === undefined)) continue;
        const text = tokenizer.decode([...context, ...(around.slice(0, lead.length) as number[]), id, ...(around.slice(lead.length) as number[])]);
        if (!text.startsWith(prefix) || text.includes(REPLACEMENT)) continue;
        const all = enc.encode(text.slice(prefix.length));
        const bytes = all.slice(lead.length, all.length - tail.length);
        if (bytes.length > 0 && checked(id, bytes)) {
          out.set(id, bytes);
          break search;
        }
      }
    }
  }
  return out;
}

/**
 * Characters that cover every byte of well-formed UTF-8, several times over (a byte-level BPE
 * may merge some characters' bytes): every continuation byte after two rare lead bytes, and a
 * few characters per lead byte of 2, 3 and 4 bytes.
 */
function* probeCharacters(): Generator<string> {
  for (let c = 0; c < 64; c++) for (const base of [0x80, 0x780]) yield String.fromCodePoint(base + c);
  for (let cp = 0x80; cp < 0x800; cp += 21) yield String.fromCodePoint(cp);
  for (let lead = 0; lead < 16; lead++) {
    for (const mid of [0x0123, 0x0567, 0x0a00, 0x0b41, 0x0e3f, 0x0f7e]) {
      const cp = (lead << 12) | mid;
      if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) yield String.fromCodePoint(cp);
    }
  }
  for (const plane of [0x10000, 0x1f000, 0x20000, 0x40000, 0x80000, 0xc0000, 0xf0000, 0x100000, 0x10f000]) yield String.fromCodePoint(plane + 0x123);
}
