import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { argmax, maxAbsDiff, prng, randomTokens, randomWeights, storiesConfig, tinyConfig } from './randomModel.ts';
import type { ModelConfig } from '../../src/model/config.ts';

const PREFIX = 256; // the blocks every sequence shares
const SUFFIX = 44; // per request: full blocks its 4 forks share, and a partial one each fork copies (44 % 8, 16, 32 > 0)
const REQUESTS = 4;
const FORKS = 4;
const STEPS = 3; // decode positions 300..302 stay in the partial block at every block size (2 in real-GPU shapes)
const BATCH = 8;
const backends: GpuBackend[] = [];

/** One arm: the model, block size and kernel shapes. */
interface Arm {
  config: ModelConfig;
  blockSize: number;
  gpuShapes: boolean;
  steps: number;
}

/** The cache layout of an arm: prefix blocks, each request's own blocks (full ones, then the partial one), the forks' copies. */
function layout(blockSize: number) {
  const prefixBlocks = PREFIX / blockSize;
  const own = Math.floor(SUFFIX / blockSize) + 1;
  return { prefixBlocks, own, numBlocks: prefixBlocks + REQUESTS * own + REQUESTS * FORKS };
}
afterAll(() => backends.forEach((b) => b.dispose()));

interface Run {
  logits: Float32Array[][];
  ids: number[][];
  /** Per decode step on the GPU: keys loaded per kv head and layer, and the keys the rows attend to. */
  keys: Array<{ read: number; attended: number }>;
}

interface Fork {
  table: number[];
  tokens: number[];
}

/**
 * A system prompt of 256 tokens and 4 requests after it, each forked n = 4 ways (a different
 * first token per fork), prefilled on `backend`.
 */
async function prefill(backend: ForwardBackend, config: ModelConfig, blockSize: number): Promise<Fork[]> {
  const rand = prng(5);
  const { prefixBlocks, own: ownBlocks } = layout(blockSize);
  const prefixTable = Array.from({ length: prefixBlocks }, (_, i) => i);
  await backend.forward({ chunks: [{ tokens: randomTokens(rand, PREFIX, config.vocabSize), startPos: 0, blockTable: prefixTable }], logits: 'last' });
  const forks: Array<{ table: number[]; tokens: number[] }> = [];
  for (let r = 0; r < REQUESTS; r++) {
    const own = Array.from({ length: ownBlocks }, (_, i) => prefixBlocks + r * ownBlocks + i);
    await backend.forward({ chunks: [{ tokens: randomTokens(rand, SUFFIX, config.vocabSize), startPos: PREFIX, blockTable: [...prefixTable, ...own] }], logits: 'last' });
    for (let f = 0; f < FORKS; f++) {
      const copy = prefixBlocks + REQUESTS * ownBlocks + r * FORKS + f;
      await backend.copyBlocks([[own[ownBlocks - 1], copy]]);
      forks.push({ table: [...prefixTable, ...own.slice(0, -1), copy], tokens: [1 + r * FORKS + f] });
    }
  }
  return forks;
}

/**
 * 3 greedy decode steps of the 16 forks, in batches of BATCH (8: two requests' forks, all
 * sharing the prefix; at most 8 rows keeps the products on the decode GEMV, whose pipelines
 * SwiftShader compiles faster than the prefill GEMM's).
 */
async function decode(backend: ForwardBackend, given: readonly Fork[], steps: number): Promise<Run> {
  const forks = given.map((f) => ({ table: f.table, tokens: [...f.tokens] }));
  const out: Run = { logits: forks.map(() => []), ids: forks.map(() => []), keys: [] };
  for (let s = 0; s < steps; s++) {
    for (let b0 = 0; b0 < forks.length; b0 += BATCH) {
      const batch = forks.slice(b0, b0 + BATCH);
      const chunks = batch.map((f) => ({ tokens: f.tokens.slice(-1), startPos: PREFIX + SUFFIX + s, blockTable: f.table }));
      const logits = await backend.forward({ chunks, logits: 'last' });
      if (backend instanceof GpuBackend && backend.flash?.last) out.keys.push({ read: backend.flash.last.keysRead, attended: backend.flash.last.keysAttended });
      logits.forEach((l, j) => {
        const i = b0 + j;
        out.logits[i].push(l);
        const id = argmax(l);
        out.ids[i].push(id);
        forks[i].tokens.push(id);
      });
    }
  }
  return out;
}

// The gpu set in the shapes SwiftShader gets, and in a real GPU's (gpuShapes: 64-lane GEMV with
// the norms fused, 128-invocation attention workgroups) on a smaller model, at the other block sizes.
const arms: Arm[] = [
  { config: storiesConfig, blockSize: 16, gpuShapes: false, steps: STEPS },
  { config: tinyConfig, blockSize: 8, gpuShapes: true, steps: 2 },
  { config: tinyConfig, blockSize: 32, gpuShapes: true, steps: 2 },
];

describe.each(arms)('shared-prefix attention (gpu kernels, block size $blockSize, real-GPU shapes: $gpuShapes)', ({ config, blockSize, gpuShapes, steps }) => {
  it('gives 16 forks of 4 requests sharing a 256-token prefix the greedy ids and logits it gives with sharing off, reading the prefix once', async () => {
    const weights = randomWeights(config, 41);
    const { numBlocks } = layout(blockSize);
    // One backend for both runs (pipelines compile once), its cache rewritten before each.
    const gpu = await GpuBackend.create(weights, { blockSize, numBlocks, gpu: dawnGpu(), kernels: 'gpu', sharedPrefix: true, gpuShapes });
    backends.push(gpu);
    // The prefill runs on the CPU and its KV cache is copied to both GPU backends: the decode
    // steps are under test here (prefill on the GPU set: test/gpu/forward.test.ts, mixedBatch.test.ts).
    const cpuBackend = new CpuBackend(weights, { blockSize, numBlocks });
    const forks = await prefill(cpuBackend, config, blockSize);
    const all = Array.from({ length: numBlocks }, (_, i) => i);
    const kv = await cpuBackend.readBlocks(all);
    const gpuRun = async (sharedPrefix: boolean) => {
      gpu.flash!.setSharedPrefix(sharedPrefix);
      await gpu.writeBlocks(all, kv);
      return decode(gpu, forks, steps);
    };
    const on = await gpuRun(true);
    const off = await gpuRun(false);
    const cpu = await decode(cpuBackend, forks, steps);
    expect(on.ids).toEqual(off.ids);
    expect(on.ids).toEqual(cpu.ids);
    let rel = 0;
    let vsCpu = 0;
    on.logits.forEach((steps, i) =>
      steps.forEach((l, s) => {
        const scale = Math.max(...off.logits[i][s].map(Math.abs));
        rel = Math.max(rel, maxAbsDiff(l, off.logits[i][s]) / scale);
        vsCpu = Math.max(vsCpu, maxAbsDiff(l, cpu.logits[i][s]));
      }),
    );
    console.log(`shared prefix: max relative |on - off| ${rel.toExponential(2)}, max |on - cpu| ${vsCpu.toExponential(2)}, keys read per step ${on.keys.map((k) => `${k.read}/${k.attended}`).join(', ')} (off: ${off.keys.map((k) => k.read).join(', ')})`);
    expect(rel).toBeLessThan(1e-5);
    expect(vsCpu).toBeLessThan(1e-4);
    // With sharing, the 256 prefix keys are loaded once per item group instead of once per fork.
    for (const k of on.keys) expect(k.read).toBeLessThan(k.attended / 4);
    for (const k of off.keys) expect(k.read).toBe(k.attended);
  });
});
