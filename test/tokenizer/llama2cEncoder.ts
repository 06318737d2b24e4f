/**
 * The test oracle: a line-by-line TypeScript port of encode() from karpathy/llama2.c's run.c.
 * It works on bytes as the C does: strings are kept as "byte strings" (one char per byte,
 * codes 0..255), so comparing them is strcmp and looking them up is bsearch over the sorted
 * vocabulary. Kept deliberately naive (quadratic merging) to stay recognisably the original.
 */
export interface Llama2cPiece {
  text: string;
  score: number;
}

interface TokenIndex {
  str: string;
  id: number;
}

const utf8 = new TextEncoder();

function byteString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export class Llama2cEncoder {
  private readonly vocab: string[];
  private readonly scores: number[];
  private readonly sorted: TokenIndex[];

  constructor(pieces: readonly Llama2cPiece[]) {
    this.vocab = pieces.map((p) => byteString(utf8.encode(p.text)));
    this.scores = pieces.map((p) => p.score);
    // qsort(..., compare_tokens): strcmp order
    this.sorted = this.vocab.map((str, id) => ({ str, id })).sort((a, b) => (a.str < b.str ? -1 : a.str > b.str ? 1 : 0));
  }

  /** str_lookup: bsearch for an exact match, -1 when absent. */
  private lookup(str: string): number {
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.sorted[mid].str;
      if (s === str) return this.sorted[mid].id;
      if (s < str) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  encode(input: string, bos: boolean, eos: boolean): number[] {
    const all = utf8.encode(input);
    // a C string ends at its first NUL
    const nul = all.indexOf(0);
    const text = nul === -1 ? all : all.subarray(0, nul);
    const tokens: number[] = [];
    if (bos) tokens.push(1);
    // add_dummy_prefix: only when text != ""
    if (text.length > 0) tokens.push(this.lookup(' '));

    let buf: number[] = [];
    for (let c = 0; c < text.length; c++) {
      // reset on an ASCII or leading byte (anything not 10xxxxxx)
      if ((text[c] & 0xc0) !== 0x80) buf = [];
      buf.push(text[c]);
      const next = c + 1 < text.length ? text[c + 1] : 0;
      if ((next & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.lookup(String.fromCharCode(...buf));
      if (id !== -1) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3); // byte_fallback: +3 skips <unk>, <s>, </s>
      buf = [];
    }

    // merge the best-scoring adjacent pair until none merges; the first best wins ties
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.lookup(this.vocab[tokens[i]] + this.vocab[tokens[i + 1]]);
        if (id !== -1 && this.scores[id] > bestScore) {
          bestScore = this.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }

    if (eos) tokens.push(2);
    return tokens;
  }
}
