import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { SHARED } from '../paths.ts';
import { GGUF_DIR, GGUF_REFERENCE, loadPath } from './ggufFiles.ts';

const reference = GGUF_REFERENCE;

/**
 * Every fixture file, read by Folio and run on the CPU reference, greedily continues the public
 * prompt with exactly the ids Hugging Face transformers (f32, on the file's weights dequantized
 * by gguf-py) chose: the dequantizers, tensor layout, RoPE order per architecture, biases, tied
 * and untied heads, and the prompt's encoding (BOS from the file's add_bos_token) all at once.
 * The reference does not stop at EOS, and neither does this loop.
 */
describe('GGUF fixtures reproduce the exact reference ids on the CPU backend', () => {
  for (const [file, { arch, runs }] of Object.entries(reference.files)) {
    for (const run of runs) {
      it(`${file} (${arch}): ${run.exact_greedy_ids.length} greedy ids after ${JSON.stringify(run.prompt)}`, async () => {
        const { weights, tokenizerJson, tokenizerConfig } = await loadPath(resolve(GGUF_DIR, file));
        const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
        const prompt = tokenizer.encode(run.prompt);
        expect(prompt).toEqual(run.prompt_ids);
        expect(await cpuGreedy(weights, prompt, run.exact_greedy_ids.length)).toEqual(run.exact_greedy_ids);
      });
    }
  }
});
