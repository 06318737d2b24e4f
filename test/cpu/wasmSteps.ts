import { expect } from 'vitest';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import type { ForwardBatch } from '../../src/kv/batch.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { storiesConfig } from '../gpu/randomModel.ts';

/** Grouped-query attention, biases (Qwen2), an untied head, and sizes that are whole q8_0/q4_0 blocks. */
export const qwenish: ModelConfig = { ...storiesConfig, modelType: 'qwen2', hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 96, qkvBias: true, tieWordEmbeddings: false };
export const opts = { blockSize: 4, numBlocks: 16 };

/**
 * Steps of three sequences with scrambled, disjoint block tables: a mixed step of two prefills, then
 * batched decode steps (all three, then two), so that the matmul's 4-row tiles and its single rows
 * both run, and prefill spans blocks.
 */
export function steps(): ForwardBatch[] {
  const tables = [[9, 2, 14, 5], [0, 11, 7, 3], [12, 1, 6, 15]];
  const prompts = [[1, 5, 9, 13, 17, 21, 25], [1, 40, 41]];
  const out: ForwardBatch[] = [{ logits: 'all', chunks: prompts.map((tokens, s) => ({ tokens, startPos: 0, blockTable: tables[s] })) }];
  out.push({ logits: 'last', chunks: [{ tokens: [1, 2, 3, 4, 5, 6], startPos: 0, blockTable: tables[2] }] });
  const len = [7, 3, 6];
  for (let step = 0; step < 4; step++) {
    const seqs = step < 2 ? [0, 1, 2] : [0, 2];
    out.push({ logits: 'last', chunks: seqs.map((s) => ({ tokens: [(s * 31 + step * 7) % 90], startPos: len[s]++, blockTable: tables[s] })) });
  }
  return out;
}


/** Runs steps() on both backends and expects the same logits bit for bit (threads must not change a sum's order). */
export async function expectSameLogits(one: ForwardBackend, two: ForwardBackend): Promise<void> {
  for (const batch of steps()) {
    const [a, b] = [await one.forward(batch), await two.forward(batch)];
    a.forEach((ref, i) => expect(b[i]).toEqual(ref));
  }
}
