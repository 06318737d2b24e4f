import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ropeInvFreq } from '../../src/cpu/rope.ts';
import { packStep, SHORT_CHUNK_ROWS } from '../../src/gpu/stepInputs.ts';
import { storiesConfig } from './randomModel.ts';

const config = storiesConfig;
const blockSize = 8;

describe('packStep row order (short chunks first, for GEMV/GEMM splits that keep rows bit-identical)', () => {
  it("puts the short chunks' rows first, keeps each chunk's rows together, and the logit rows in batch order", () => {
    const chunkLens = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(chunkLens, fc.boolean(), (lens, all) => {
        // Chunk c owns blocks [c * 4, c * 4 + 4) (up to 32 tokens) and its tokens are 100 c + i.
        const chunks = lens.map((n, c) => ({
          tokens: Array.from({ length: n }, (_, i) => 100 * c + i + 1),
          startPos: 0,
          blockTable: [c * 4, c * 4 + 1, c * 4 + 2, c * 4 + 3],
        }));
        const step = packStep({ chunks, logits: all ? 'all' : 'last' }, { ...config, vocabSize: 1000 }, { blockSize, numBlocks: 24 }, ropeInvFreq(config), all ? 'all' : 'last');
        const short = lens.map((n) => n <= SHORT_CHUNK_ROWS);
        expect(step.shortRows).toBe(lens.reduce((s, n, c) => s + (short[c] ? n : 0), 0));
        // Row order: the short chunks in batch order, then the others, each chunk's tokens in order.
        const order = [...lens.keys()].sort((a, b) => Number(short[b]) - Number(short[a]) || a - b);
        expect(Array.from(step.tokens)).toEqual(order.flatMap((c) => chunks[c].tokens));
        expect(step.chunkRows).toEqual(order.map((c) => lens[c]));
        // Logit rows, in batch order: every token (all) or each chunk's last one.
        const wanted = chunks.flatMap((ch) => (all ? ch.tokens : ch.tokens.slice(-1)));
        expect(Array.from(step.logitRows).map((r) => step.tokens[r])).toEqual(wanted);
        expect(step.logitCounts).toEqual(lens.map((n) => (all ? n : 1)));
        // Each row's slot is its own chunk's (positions from 0, in that chunk's blocks).
        for (let r = 0; r < step.rows; r++) {
          const c = Math.floor((step.tokens[r] - 1) / 100);
          const i = (step.tokens[r] - 1) % 100;
          expect(step.rowMeta[r * 4 + 2]).toBe(chunks[c].blockTable[Math.floor(i / blockSize)] * blockSize + (i % blockSize));
        }
      }),
    );
  });
});
