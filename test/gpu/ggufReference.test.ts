// GGUF fixtures, loaded by Folio with their 2-D weights kept packed and run on WebGPU (Dawn on
// SwiftShader), greedily continue the public prompt with exactly the ids Hugging Face transformers
// chose (f32 over the file's weights dequantized by gguf-py): the packed decode product in every
// format these files hold (F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, Q5_0, Q5_1, Q5_K; stories260K's
// 172-wide F16 rows widened to F32), the packed embedding lookup, tied LM heads reading the packed embedding
// (stories260K, qwen2-tiny), mixed formats within q|k|v (rand256-Q4_K_M), Qwen2's biases, and
// llama's q/k rows un-permuted as packed bytes. No stop at EOS, as in the reference.
//
// Every reference id (100, or 200 for stories260K) of the six files issue 11 names, stories260K's
// F32 and F16 files and rand256's Q5_0 and Q5_K is checked, teacher-forced, on the fallback kernel
// set (one of them on the 'gpu' set too, see FILES_FOR): the prompt and the reference continuation go through the model
// in one step (the packed GEMM), and the argmax of each position from the prompt's last on must
// be the next reference id. All of them matching is exactly what reproducing the greedy ids
// means, in one step instead of a hundred (SwiftShader compiles each pipeline in about half a
// second, and the decode GEMV has one per row count, which dominated). The decode GEMV is checked
// per format and kernel set in packedMatmul.test.ts, and by real greedy decoding of GGUF files
// in Chromium in test/browser/ggufWorker.test.ts; the CPU checks every file by real greedy
// decoding (test/gguf/reference.test.ts). The remaining files' formats (Q4_1, Q8_0 at 256) are
// checked per kernel in packedMatmul.test.ts, and every file through the CLI in the bench.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import type { KernelSet } from '../../src/gpu/kernelSet.ts';
import { KERNEL_SETS } from './kernelSets.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { GGUF_DIR, GGUF_REFERENCE, loadPath } from '../gguf/ggufFiles.ts';

const reference = GGUF_REFERENCE;

let backend: GpuBackend | null = null;
afterEach(() => {
  backend?.dispose();
  backend = null;
});

const FILES = [
  'stories260K-F32.gguf',
  'stories260K-F16.gguf',
  'stories260K-Q4_0.gguf',
  'stories260K-Q8_0.gguf',
  'rand256-Q4_K_M.gguf',
  'rand256-Q5_1.gguf',
  'rand256-Q6_K.gguf',
  'qwen2-tiny-Q4_K.gguf',
  // Two formats whose bit layouts the files above leave out (about 4 s each on an idle machine);
  // Q4_1 and Q8_0 at rows of 256, and all fifteen files through the CLI, are in the bench
  // (`npm run bench -- --only gguf-reference`).
  'rand256-Q5_0.gguf',
  'rand256-Q5_K.gguf',
];
/**
 * The 'gpu' set takes one file within the test budget (its tiled GEMM compiles slowly on
 * SwiftShader): Qwen2's biases with a tied head reading the packed Q4_K embedding; f32 weights on
 * that set are checked against the reference forward in forward.test.ts. Each format's products are checked on both sets in packedMatmul.test.ts, and mixed
 * Q4_K/Q6_K on the 'gpu' set against the CPU in packedForward.test.ts.
 */
const FILES_FOR: Record<KernelSet, string[]> = { fallback: FILES, gpu: ['qwen2-tiny-Q4_K.gguf'] };

/** The argmax of every position's logits, the sequence fed in one step. */
async function teacherForced(gpu: GpuBackend, seq: number[], blockSize: number): Promise<number[]> {
  const vocab = gpu.config.vocabSize;
  const blockTable = Array.from({ length: Math.ceil(seq.length / blockSize) }, (_, i) => i);
  const [logits] = await gpu.forward({ chunks: [{ tokens: seq, startPos: 0, blockTable }], logits: 'all' });
  return seq.map((_, r) => {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
    return best;
  });
}

describe.each(KERNEL_SETS)('GGUF fixtures reproduce the exact reference ids on WebGPU with packed weights (%s kernels)', (kernels) => {
  for (const file of FILES_FOR[kernels]) {
    const { arch, runs } = reference.files[file];
    for (const run of runs) {
      it(`${file} (${arch}): all ${run.exact_greedy_ids.length} greedy ids`, async () => {
        const { weights, tokenizerJson, tokenizerConfig } = await loadPath(resolve(GGUF_DIR, file));
        expect(weights.packed?.size).toBeGreaterThan(0);
        const prompt = Tokenizer.fromJson(tokenizerJson, tokenizerConfig).encode(run.prompt);
        expect(prompt).toEqual(run.prompt_ids);
        const ids = run.exact_greedy_ids;
        const seq = [...prompt, ...ids.slice(0, -1)];
        const blockSize = 16;
        backend = await GpuBackend.create(weights, { blockSize, numBlocks: Math.ceil(seq.length / blockSize), gpu: dawnGpu(), kernels });
        const argmax = await teacherForced(backend, seq, blockSize);
        expect(argmax.slice(prompt.length - 1)).toEqual(ids);
      });
    }
  }
});
