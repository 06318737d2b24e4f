import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWith } from '../../src/cli/generateLoop.ts';
import type { GenerateRequest } from '../../src/cli/GenerateRequest.ts';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { loadModel, type LoadedModel } from '../../src/model/loadModel.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';

const BS = 16;
let model: LoadedModel;
beforeAll(async () => {
  model = await loadModel(new FolderSource(DEFAULT_MODEL));
});

const backends: Record<'cpu' | 'webgpu', (m: LoadedModel, numBlocks: number) => Promise<ForwardBackend>> = {
  cpu: async (m, numBlocks) => new CpuBackend(m.weights, { blockSize: BS, numBlocks }),
  webgpu: (m, numBlocks) => GpuBackend.create(m.weights, { blockSize: BS, numBlocks, gpu: dawnGpu() }),
};

describe('K-shift and block scores on both backends (stories260K)', () => {
  const made: ForwardBackend[] = [];
  afterAll(() => made.forEach((b) => b.dispose()));

  for (const name of ['cpu', 'webgpu'] as const) {
    it(`${name}: keys computed at 0.. and shifted by +d equal keys computed at d..; values equal; scores agree with the CPU's`, async () => {
      const backend = await backends[name](model, 8);
      made.push(backend);
      const tokens = [1, 403, 407, 261, 378, 429, 300, 270, 289, 419, 281, 270, 455, 283, 345, 328, 410, 400, 290, 333];
      const d = 37;
      // Table A: positions 0..19 in blocks 0, 1. Table B: the same tokens at positions d.., through entries 0.. (a gap of d).
      await backend.forward({ chunks: [{ tokens, startPos: 0, blockTable: [0, 1] }], logits: 'last' });
      await backend.forward({ chunks: [{ tokens, startPos: d, cacheStart: 0, blockTable: [2, 3] }], logits: 'last' });
      await backend.shiftKeys!([{ block: 0, delta: d }, { block: 1, delta: d }]);
      const a = await backend.readBlocks!([0, 1]);
      const b = await backend.readBlocks!([2, 3]);
      // Only the 20 written slots: block 1's last 12 slots are empty in both.
      let worst = 0;
      const L = model.weights.config.numLayers;
      const n = model.weights.config.numKvHeads * BS * model.weights.config.headDim;
      for (let i = 0; i < a.length; i++) {
        const slot = Math.floor((i % n) / model.weights.config.headDim) % BS;
        const block = Math.floor(i / (L * 2 * n));
        if (block * BS + slot < tokens.length) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
      expect(worst).toBeLessThan(2e-4);
      expect(worst).toBeGreaterThanOrEqual(0);
      const scores = await backend.scoreBlocks!([0, 2]);
      expect(scores[0]).toBeGreaterThan(0);
      expect(scores[0]).toBeCloseTo(scores[1], 4);
      const cpu = new CpuBackend(model.weights, { blockSize: BS, numBlocks: 8 });
      await cpu.writeBlocks([0], await backend.readBlocks!([0]));
      expect(Array.from(await cpu.scoreBlocks([0]))[0]).toBeCloseTo(scores[0], 5);
    }, 60_000);
  }
});

describe('generation under a KV budget: the CLI loop on cpu and webgpu (stories260K, context cut to 96 so that it shifts)', () => {
  const short = (): LoadedModel => ({ ...model, weights: { ...model.weights, config: { ...model.weights.config, maxPositions: 96 } } });
  const req = (kv: GenerateRequest['kv'], maxTokens: number): GenerateRequest => ({
    model: '', prompt: 'Once upon a time, there was a little girl named Lily', addBos: true, maxTokens, ignoreEos: true, sampling: { temperature: 0 }, kv,
  });
  const run = async (name: 'cpu' | 'webgpu', r: GenerateRequest, m = short()) => generateWith(m, (w, opts) => backends[name]({ ...m, weights: w }, opts.numBlocks), r);

  for (const policy of ['paged-eviction', 'window'] as const) {
    it(`${policy}: identical ids on both backends, at most budget + one block held, the same ids as the full cache until the first eviction`, async () => {
      const budget = 48;
      const r = req({ budgetTokens: budget, policy, overflow: 'shift' }, 110);
      const cpu = await run('cpu', r);
      const gpu = await run('webgpu', r);
      expect(gpu.generatedIds).toEqual(cpu.generatedIds);
      expect(cpu.generatedIds).toHaveLength(110);
      for (const out of [cpu, gpu]) {
        expect(out.kv!.peakTokensHeld).toBeLessThanOrEqual(budget + BS);
        // 13 prompt + 110 generated - 1 never fed back, less at most 64 held at the end; past position 96 it shifted.
        expect(out.kv!.evictedTokens).toBeGreaterThanOrEqual(13 + 110 - 1 - budget - BS);
      }
      // Nothing is evicted while prompt + output fit the budget plus a block: the first tokens are the plain loop's.
      const untouched = budget + BS - cpu.promptIds.length;
      const plain = await run('cpu', req(undefined, untouched), model);
      expect(cpu.generatedIds.slice(0, untouched)).toEqual(plain.generatedIds.slice(0, untouched));
    }, 120_000);
  }
});
