// GGUF fixtures, loaded by Folio with their 2-D weights kept packed and run on WebGPU (Dawn on
// SwiftShader), greedily continue the public prompt with exactly the ids Hugging Face transformers
// chose (f32 over the file's weights dequantized by gguf-py): the packed decode product in every
// format these files hold (F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, Q5_1; stories260K's 172-wide F16 rows
// widened to F32), the packed embedding lookup, tied LM heads reading the packed embedding
// (stories260K, qwen2-tiny), mixed formats within q|k|v (rand256-Q4_K_M), Qwen2's biases, and
// llama's q/k rows un-permuted as packed bytes. Argmax on the GPU; no stop at EOS, as in the
// reference.
//
// Budget: SwiftShader runs these products near 0.15 s per token for the 256-wide models and
// compiles each pipeline in about half a second, so this file checks the six files issue 11 names
// and stories260K's F32 and F16 files (cheap), on the first GENERATED ids of each reference,
// feeding the prompt one token per step (one set of pipelines per model). Prefill chunks (2..8
// rows: the GEMV at M > 1; over 8: the tiled GEMM) are checked against the CPU's logits in
// packedForward.test.ts; the CPU checks every file in full (test/gguf/reference.test.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { GGUF_DIR, GGUF_REFERENCE, loadPath } from '../gguf/ggufFiles.ts';
import { SHARED } from '../paths.ts';

const reference = GGUF_REFERENCE;

let backend: GpuBackend | null = null;
afterEach(() => {
  backend?.dispose();
  backend = null;
});

const FILES = ['stories260K-F32.gguf', 'stories260K-F16.gguf', 'stories260K-Q4_0.gguf', 'stories260K-Q8_0.gguf', 'rand256-Q4_K_M.gguf', 'rand256-Q5_1.gguf', 'rand256-Q6_K.gguf', 'qwen2-tiny-Q4_K.gguf'];
const GENERATED = 32;

/** n greedy ids after the prompt, every position one step of one row. */
async function gpuGreedy(gpu: GpuBackend, prompt: number[], n: number, blockSize: number): Promise<number[]> {
  const blockTable = Array.from({ length: Math.ceil((prompt.length + n) / blockSize) }, (_, i) => i);
  const seq = [...prompt];
  for (let pos = 0; seq.length < prompt.length + n; pos++) {
    const [next] = await gpu.forwardGreedy({ chunks: [{ tokens: [seq[pos]], startPos: pos, blockTable }], logits: 'last' });
    if (pos === seq.length - 1) seq.push(next);
  }
  return seq.slice(prompt.length);
}

describe('GGUF fixtures reproduce the exact reference ids on WebGPU with packed weights', () => {
  for (const file of FILES) {
    const { arch, runs } = reference.files[file];
    for (const run of runs) {
      it(`${file} (${arch}): the first ${GENERATED} of ${run.exact_greedy_ids.length} greedy ids`, async () => {
        const { weights, tokenizerJson, tokenizerConfig } = await loadPath(resolve(GGUF_DIR, file));
        expect(weights.packed?.size).toBeGreaterThan(0);
        const prompt = Tokenizer.fromJson(tokenizerJson, tokenizerConfig).encode(run.prompt);
        expect(prompt).toEqual(run.prompt_ids);
        const blockSize = 16;
        const numBlocks = Math.ceil((prompt.length + GENERATED) / blockSize);
        backend = await GpuBackend.create(weights, { blockSize, numBlocks, gpu: dawnGpu() });
        expect(await gpuGreedy(backend, prompt, GENERATED, blockSize)).toEqual(run.exact_greedy_ids.slice(0, GENERATED));
      });
    }
  }
});
