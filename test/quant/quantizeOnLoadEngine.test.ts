// Quantize on load through the engine's paths: loadEngine's `weights` option reaches the loader
// (CPU), and the quantized safetensors model runs packed on WebGPU (Dawn on SwiftShader) with the
// Q4_0 GGUF's exact reference ids.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import type { WeightsOption } from '../../src/quant/quantizeModel.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';

const reference = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'));

let backend: GpuBackend | null = null;
afterEach(() => {
  backend?.dispose();
  backend = null;
});

describe('quantize on load through loadEngine and on WebGPU', () => {
  it('loadEngine({ weights }) loads the quantized weights (their salted fingerprint) on the CPU backend', async () => {
    const source = new FolderSource(DEFAULT_MODEL);
    const engine = await loadEngine({ source, backend: 'cpu', weights: 'q8_0' });
    const q8 = await loadModel(source, { weights: 'q8_0' });
    const f32 = await loadModel(source);
    expect(engine.fingerprint).toBe(q8.weights.fingerprint);
    expect(engine.fingerprint).not.toBe(f32.weights.fingerprint);
  });

  // Every packed format the other options give this model (F16 throughout; Q5_0 for q4_k's
  // 64-wide rows, which 256 does not divide) runs on WebGPU as on the CPU reference.
  for (const [option, formats] of [
    ['f16', ['F16']],
    ['q4_k', ['Q5_0', 'F16']],
  ] as [WeightsOption, string[]][]) {
    it(`--weights ${option} on WebGPU: 16 greedy ids equal the CPU reference's on the same weights`, async () => {
      const run = reference.files['stories260K-Q4_0.gguf'].runs[0];
      const { weights } = await loadModel(new FolderSource(DEFAULT_MODEL), { weights: option });
      expect(new Set([...weights.packed!.values()].map((p) => p.format))).toEqual(new Set(formats));
      const prompt: number[] = run.prompt_ids;
      backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 2, gpu: dawnGpu() });
      const [first] = await backend.forwardGreedy({ chunks: [{ tokens: prompt, startPos: 0, blockTable: [0, 1] }], logits: 'last' });
      const seq = [...prompt, first];
      for (let pos = prompt.length; seq.length < prompt.length + 16; pos++) {
        const [next] = await backend.forwardGreedy({ chunks: [{ tokens: [seq[pos]], startPos: pos, blockTable: [0, 1] }], logits: 'last' });
        seq.push(next);
      }
      expect(seq.slice(prompt.length)).toEqual(await cpuGreedy(weights, prompt, 16));
    });
  }

  it('--weights q4_0 on WebGPU: the first 32 greedy ids of stories260K-Q4_0.gguf\'s exact reference', async () => {
    const run = reference.files['stories260K-Q4_0.gguf'].runs[0];
    const { weights } = await loadModel(new FolderSource(DEFAULT_MODEL), { weights: 'q4_0' });
    expect(new Set([...weights.packed!.values()].map((p) => p.format))).toEqual(new Set(['Q4_0', 'F16']));
    const n = 32;
    const blockSize = 16;
    const prompt: number[] = run.prompt_ids;
    const blockTable = Array.from({ length: Math.ceil((prompt.length + n) / blockSize) }, (_, i) => i);
    backend = await GpuBackend.create(weights, { blockSize, numBlocks: blockTable.length, gpu: dawnGpu() });
    const seq = [...prompt];
    for (let pos = 0; seq.length < prompt.length + n; pos++) {
      const [next] = await backend.forwardGreedy({ chunks: [{ tokens: [seq[pos]], startPos: pos, blockTable }], logits: 'last' });
      if (pos === seq.length - 1) seq.push(next);
    }
    expect(seq.slice(prompt.length)).toEqual(run.exact_greedy_ids.slice(0, n));
  });
});
