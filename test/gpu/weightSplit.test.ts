// Buffers within limits: with the backend's limits clamped far below the models' tensors, every
// weight larger than one binding is cut by output rows into several buffers (the embedding by
// vocabulary rows, the tied LM head reading those same chunks), and the logits equal the unsplit
// run's: bit for bit for packed weights on the fallback set (each output is the same dot product in
// the same order), within 1e-5 for f32 ones (a split f32 product runs through the packed F32 kernel,
// whose sums run in another order than wgsl/matmul.wgsl's). Both kernel sets. A row wider than a binding is a ModelTooLargeError.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelTooLargeError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend, type GpuBackendOptions } from '../../src/gpu/GpuBackend.ts';
import type { ModelWeights } from '../../src/model/weights.ts';
import { GGUF_DIR, loadPath } from '../gguf/ggufFiles.ts';
import { maxDiff } from '../model/cpuLogits.ts';
import { prng, randomTokens } from './randomModel.ts';

const backends: GpuBackend[] = [];
afterEach(() => {
  for (const b of backends.splice(0)) b.dispose();
});

const load = async (file: string): Promise<ModelWeights> => (await loadPath(resolve(GGUF_DIR, file))).weights;

/** Logits of a 12-token prefill (the tiled product) then one decode step (the GEMV), concatenated. */
async function logits(weights: ModelWeights, opts: Partial<GpuBackendOptions>): Promise<{ logits: Float32Array; backend: GpuBackend }> {
  const backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 1, gpu: dawnGpu(), ...opts });
  backends.push(backend);
  const tokens = randomTokens(prng(5), 13, weights.config.vocabSize);
  const blockTable = [0];
  const [a] = await backend.forward({ chunks: [{ tokens: tokens.slice(0, 12), startPos: 0, blockTable }], logits: 'all' });
  const [b] = await backend.forward({ chunks: [{ tokens: tokens.slice(12), startPos: 12, blockTable }], logits: 'all' });
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return { logits: out, backend };
}

describe('weights larger than one binding are split across buffers', () => {
  it.each([
    // Q4_0 rows (embedding 512 x 36 bytes = 18 KiB, tied head), F16 rows widened for the 172-wide down.
    { file: 'stories260K-Q4_0.gguf', kernels: 'fallback' as const, clamp: 8 * 1024, tol: 0 },
    // F32 throughout: a 128 KiB embedding and 88 KiB gate|up against 48 KiB bindings. (The 'gpu' set
    // reads f32 rows through the F32 preamble whole or split, but a narrower part may split K otherwise.)
    { file: 'stories260K-F32.gguf', kernels: 'fallback' as const, clamp: 48 * 1024, tol: 1e-5 },
    // The 'gpu' set compiles a pipeline per part: only the embedding and the tied head are split here.
    { file: 'stories260K-F32.gguf', kernels: 'gpu' as const, clamp: 96 * 1024, tol: 1e-5 },
  ])('$file ($kernels kernels) with bindings clamped to $clamp bytes: logits equal the unsplit run (tol $tol)', async ({ file, kernels, clamp, tol }) => {
    const weights = await load(file);
    const whole = await logits(weights, { kernels });
    const split = await logits(weights, { kernels, clampLimits: { maxStorageBufferBindingSize: clamp } });
    // More buffers than the unsplit run, none larger than the clamp (16-byte padding included).
    expect(split.backend.weightLayout.buffers.length).toBeGreaterThan(whole.backend.weightLayout.buffers.length);
    expect(Math.max(...split.backend.weightLayout.buffers)).toBeLessThanOrEqual(clamp);
    expect(Math.max(...whole.backend.weightLayout.buffers)).toBeGreaterThan(clamp);
    expect(maxDiff(split.logits, whole.logits)).toBeLessThanOrEqual(tol);
  });

  it('a row wider than a binding is a ModelTooLargeError naming both sizes', async () => {
    const weights = await load('stories260K-Q4_0.gguf');
    const create = GpuBackend.create(weights, { blockSize: 16, numBlocks: 1, gpu: dawnGpu(), clampLimits: { maxBufferSize: 32 } });
    await expect(create).rejects.toThrow(ModelTooLargeError);
    await expect(create).rejects.toThrow(/needs 36 bytes, but the adapter's maxBufferSize \(clamped\) is 32 bytes/);
  });
});
