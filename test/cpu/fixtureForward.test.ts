import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/cpu/cpuKernels.ts';
import { parseConfig } from '../../src/model/config.ts';
import { parseLlama2cCheckpoint } from '../../src/model/llama2c/checkpoint.ts';
import { huggingFaceConfig, huggingFaceTensors } from '../../src/model/llama2c/toHuggingFace.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { argmax } from '../../src/sampling/argmax.ts';
import { SHARED } from '../paths.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[]; positions: number };

function weightsFromCheckpoint(): ModelWeights {
  const ckpt = parseLlama2cCheckpoint(readFileSync(`${SHARED}/models/stories260K/stories260K.bin`));
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of huggingFaceTensors(ckpt)) tensors.set(name, new Float32Array(t.bytes.slice().buffer));
  return { config: parseConfig(huggingFaceConfig(ckpt)), tensors, fingerprint: 'test' };
}

describe.each(['js', 'wasm'] as const)('forward pass on stories260K (%s kernels)', (kernels) => {
  it('reproduces the llama2.c greedy fixture token by token (teacher-forced prompt, then greedy)', async () => {
    const w = weightsFromCheckpoint();
    const blockSize = 16;
    const { backend, kernels: ran } = await createCpuBackend(w, { blockSize, numBlocks: Math.ceil(fixture.positions / blockSize) }, { kernels });
    expect(ran).toBe(kernels);
    // Blocks in a scrambled order prove that only the block table addresses the cache.
    const table = Array.from({ length: backend.numBlocks }, (_, i) => (i * 7) % backend.numBlocks);
    const ids = [1];
    const promptLen = 4; // "Once upon a time" is four tokens after BOS
    for (let pos = 0; pos < fixture.next_ids.length; pos++) {
      const [logits] = await backend.forward({ chunks: [{ tokens: [ids[pos]], startPos: pos, blockTable: table }], logits: 'last' });
      ids.push(pos < promptLen ? fixture.next_ids[pos] : argmax(logits));
    }
    expect(ids.slice(1)).toEqual(fixture.next_ids);
  });
});
