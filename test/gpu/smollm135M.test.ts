import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { SMOLLM2_135M, syntheticWeights } from '../../src/model/synthetic.ts';
import { argmax, prng, randomTokens } from './randomModel.ts';

/**
 * Error measure: per logit row, max |gpu - cpu| / max |cpu| (the error relative to the row's
 * scale, so that logits near zero do not blow it up); the worst row is returned.
 */
function rowRelErr(gpu: Float32Array, cpu: Float32Array, vocab: number): number {
  if (gpu.length !== cpu.length) throw new Error(`lengths differ: ${gpu.length} vs ${cpu.length}`);
  let worst = 0;
  for (let r = 0; r < cpu.length / vocab; r++) {
    let diff = 0;
    let scale = 0;
    for (let i = r * vocab; i < (r + 1) * vocab; i++) {
      diff = Math.max(diff, Math.abs(gpu[i] - cpu[i]));
      scale = Math.max(scale, Math.abs(cpu[i]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const backends: GpuBackend[] = [];
afterAll(() => backends.forEach((b) => b.dispose()));

describe('SmolLM2-135M shape, synthetic weights, WebGPU (Dawn on SwiftShader) vs the CPU reference', () => {
  it('logits of a 64-token prompt and 8 decode steps agree within 1e-3 relative per row', async () => {
    const t0 = performance.now();
    // At the scale of a trained small model: matrices N(0, 0.02), norms N(1, 0.05).
    const weights = syntheticWeights(SMOLLM2_135M, prng(135));
    const c = SMOLLM2_135M;
    const blockSize = 16;
    const cpu = new CpuBackend(weights, { blockSize, numBlocks: 8 });
    const gpu = await GpuBackend.create(weights, { blockSize, numBlocks: 8, gpu: dawnGpu() });
    backends.push(gpu);
    const t1 = performance.now();
    // GQA 3:1 with 9 heads, head_dim 64; blocks out of order on the GPU side.
    const cpuTable = [0, 1, 2, 3, 4];
    const gpuTable = [6, 2, 7, 0, 4];
    const prompt = randomTokens(prng(7), 64, c.vocabSize);
    const [cpuPrompt] = await cpu.forward({ chunks: [{ tokens: prompt, startPos: 0, blockTable: cpuTable }], logits: 'all' });
    const t2 = performance.now();
    const [gpuPrompt] = await gpu.forward({ chunks: [{ tokens: prompt, startPos: 0, blockTable: gpuTable }], logits: 'all' });
    const t3 = performance.now();
    const errors = [rowRelErr(gpuPrompt, cpuPrompt, c.vocabSize)];
    // Decode: both backends are fed the CPU's greedy token, so their inputs never diverge.
    let next = argmax(cpuPrompt, 63 * c.vocabSize, 64 * c.vocabSize);
    let cpuDecode = 0;
    let gpuDecode = 0;
    for (let step = 0; step < 8; step++) {
      const pos = 64 + step;
      let t = performance.now();
      const [cl] = await cpu.forward({ chunks: [{ tokens: [next], startPos: pos, blockTable: cpuTable }], logits: 'last' });
      cpuDecode += performance.now() - t;
      t = performance.now();
      const [gl] = await gpu.forward({ chunks: [{ tokens: [next], startPos: pos, blockTable: gpuTable }], logits: 'last' });
      gpuDecode += performance.now() - t;
      errors.push(rowRelErr(gl, cl, c.vocabSize));
      next = argmax(cl);
    }
    const worst = Math.max(...errors);
    console.log(
      `SmolLM2-135M shape: worst row max|gpu-cpu|/max|cpu| = ${worst.toExponential(2)} (prompt ${errors[0].toExponential(2)}, decode ${Math.max(...errors.slice(1)).toExponential(2)}); ` +
        `weights+upload ${((t1 - t0) / 1000).toFixed(1)} s, prefill 64 cpu ${((t2 - t1) / 1000).toFixed(1)} s gpu ${((t3 - t2) / 1000).toFixed(1)} s, ` +
        `8 decode steps cpu ${(cpuDecode / 1000).toFixed(1)} s gpu ${(gpuDecode / 1000).toFixed(1)} s`,
    );
    expect(worst).toBeLessThan(1e-3);
  }, 600_000);
});
