// The GPU forward pass on packed GGUF weights against the CPU reference (which dequantizes once,
// then computes in f32 with f64 sums), and the device's weight bytes.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { GGUF_DIR, loadPath } from '../gguf/ggufFiles.ts';
import { cpuLogits, maxDiff } from '../model/cpuLogits.ts';
import { KERNEL_SETS } from './kernelSets.ts';
import { prng, randomTokens } from './randomModel.ts';

/**
 * Measured max |gpu - cpu|: 5.7e-5 (rand256-Q4_K_M), 6.3e-5 (qwen2-tiny-Q4_K) (FOLIO_REPORT_TOL=1
 * prints them): f32 sums in another order than the CPU's f64 ones. 1e-3 leaves a margin of ~16x.
 */
const TOL = 1e-3;

let backend: GpuBackend | null = null;
afterEach(() => {
  backend?.dispose();
  backend = null;
});

const load = async (file: string): Promise<ModelWeights> => (await loadPath(resolve(GGUF_DIR, file))).weights;

describe('packed weights on the GPU', () => {
  // Q4_K_M mixes Q4_K and Q6_K inside q|k|v and across layers, untied Q6_K head; qwen2-tiny-Q4_K adds
  // q/k/v biases and a tied head reading the packed Q4_K embedding. The 'gpu' set takes Q4_K_M here
  // (its pipelines compile slowly on SwiftShader) and qwen2-tiny-Q4_K in ggufReference.test.ts.
  it.each([...KERNEL_SETS.map((kernels) => ({ file: 'rand256-Q4_K_M.gguf', kernels })), { file: 'qwen2-tiny-Q4_K.gguf', kernels: 'fallback' as const }])(
    '$file ($kernels kernels): logits at every position within TOL of the CPU, over chunks of 5 (GEMV, M = 5), 12 (GEMM) and 1 rows',
    async ({ file, kernels }) => {
      const weights = await load(file);
      const vocab = weights.config.vocabSize;
      const tokens = randomTokens(prng(11), 18, vocab);
      const want = await cpuLogits(weights, tokens);
      backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 2, gpu: dawnGpu(), kernels });
      const blockTable = [1, 0]; // not in order: only the table addresses the cache
      const got = new Float32Array(tokens.length * vocab);
      let start = 0;
      for (const n of [5, 12, 1]) {
        const [l] = await backend.forward({ chunks: [{ tokens: tokens.slice(start, start + n), startPos: start, blockTable }], logits: 'all' });
        got.set(l, start * vocab);
        start += n;
      }
      const err = maxDiff(got, want);
      if (process.env.FOLIO_REPORT_TOL) console.log(`${file} (${kernels}): max |gpu - cpu| logit ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL);
    },
  );

  it('holds the packed bytes on the device: rand256-Q4_0 takes its file size, not its f32 size', async () => {
    const weights = await load('rand256-Q4_0.gguf');
    const packed = [...weights.packed!.values()];
    expect(packed.every((t) => t.format === 'Q4_0')).toBe(true);
    const packedBytes = packed.reduce((n, t) => n + t.bytes.length, 0);
    const f32Bytes = [...weights.tensors.values()].reduce((n, t) => n + t.byteLength, 0); // norms
    const widened = 4 * packed.reduce((n, t) => n + t.rows * t.cols, 0) + f32Bytes;
    backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 1, gpu: dawnGpu() });
    const onDevice = backend.weightBytes;
    if (process.env.FOLIO_REPORT_TOL) console.log(`rand256-Q4_0: ${onDevice} device bytes, packed ${packedBytes} + f32 ${f32Bytes}, widened ${widened}`);
    // Each buffer rounds up to 16 bytes; one buffer per norm, per stacked product and the embedding.
    expect(onDevice).toBeGreaterThanOrEqual(packedBytes + f32Bytes);
    expect(onDevice).toBeLessThanOrEqual(packedBytes + f32Bytes + 16 * 64);
    expect(onDevice / widened).toBeLessThan(0.15); // Q4_0: 18 bytes per 32 weights = 0.14 of f32
  });
});
