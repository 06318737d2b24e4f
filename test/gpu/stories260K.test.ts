import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { parseConfig } from '../../src/model/config.ts';
import { parseLlama2cCheckpoint } from '../../src/model/llama2c/checkpoint.ts';
import { huggingFaceConfig, huggingFaceTensors } from '../../src/model/llama2c/toHuggingFace.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { SHARED } from '../paths.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[] };

function stories260K(): ModelWeights {
  const ckpt = parseLlama2cCheckpoint(readFileSync(`${SHARED}/models/stories260K/stories260K.bin`));
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of huggingFaceTensors(ckpt)) tensors.set(name, new Float32Array(t.bytes.slice().buffer));
  return { config: parseConfig(huggingFaceConfig(ckpt)), tensors, fingerprint: 'stories260K' };
}

const backends: GpuBackend[] = [];
afterAll(() => backends.forEach((b) => b.dispose()));

describe('the real stories260K on WebGPU', () => {
  it('reproduces llama2.c greedy output: prompt prefilled in one chunk, then greedy decode on the GPU', async () => {
    const blockSize = 16;
    const gpu = await GpuBackend.create(stories260K(), { blockSize, numBlocks: 16, gpu: dawnGpu() });
    backends.push(gpu);
    // Blocks in a scrambled order prove that only the block table addresses the cache.
    const table = Array.from({ length: 13 }, (_, i) => (i * 5) % 16);
    const promptLen = 4; // "Once upon a time" after BOS
    const ids = [1, ...fixture.next_ids.slice(0, promptLen)];
    let cached = 0;
    while (ids.length <= fixture.next_ids.length) {
      const [next] = await gpu.forwardGreedy({ chunks: [{ tokens: ids.slice(cached), startPos: cached, blockTable: table }], logits: 'last' });
      cached = ids.length;
      ids.push(next);
    }
    expect(ids.slice(1)).toEqual(fixture.next_ids);
  });
});
