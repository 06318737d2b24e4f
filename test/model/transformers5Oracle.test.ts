import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { dequantize } from '../../src/quant/index.ts';
import { SHARED } from '../paths.ts';
import { cpuGreedy } from './cpuLogits.ts';
import { type SyntheticTensor, tempDir, writeModel } from './synthetic.ts';

const GGUF = join(SHARED, 'models', 'gguf');
const reference = JSON.parse(readFileSync(join(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'));
const run = reference.files['qwen2-tiny-Q8_0.gguf'].runs[0] as { prompt_ids: number[]; exact_greedy_ids: number[] };

/**
 * qwen2-tiny-hf/config.json was written by transformers 5.18: RoPE base 1e6 only in
 * rope_parameters. The fixture's exact greedy ids are transformers 5's own output on the Q8_0
 * file's dequantized weights, so Folio, given that config and those weights, must give them.
 */
describe('a config written by transformers 5 against transformers 5 itself', () => {
  const tmp = tempDir('folio-tf5-');
  afterAll(tmp.cleanup);
  const config = JSON.parse(readFileSync(join(GGUF, 'qwen2-tiny-hf', 'config.json'), 'utf8'));

  // The Q8_0 file's weights, dequantized, under Hugging Face names (qwen2 rows need no RoPE reordering).
  const fileTensors = async (): Promise<Map<string, SyntheticTensor>> => {
    const { weights } = await loadAnyModel(await openSource(join(GGUF, 'qwen2-tiny-Q8_0.gguf')));
    const out = new Map<string, SyntheticTensor>();
    for (const [name, data] of weights.tensors) out.set(name, { shape: [data.length], data });
    for (const [name, t] of weights.packed ?? []) out.set(name, { shape: [t.rows, t.cols], data: dequantize(t.format, t.bytes, t.rows * t.cols) });
    return out;
  };
  const tensors = fileTensors();

  const greedy = async (raw: Record<string, unknown>, dir: string) => {
    writeModel(join(tmp.dir, dir), raw, await tensors);
    const { weights } = await loadModel(new FolderSource(join(tmp.dir, dir)));
    return cpuGreedy(weights, run.prompt_ids, run.exact_greedy_ids.length);
  };

  it("gives transformers 5's greedy ids; the same weights under the default RoPE base do not", async () => {
    expect(config.rope_parameters.rope_theta).toBe(1000000);
    expect(await greedy(config, 'v5')).toEqual(run.exact_greedy_ids);
    const wrongBase = await greedy({ ...config, rope_parameters: { rope_type: 'default', rope_theta: 10000 } }, 'base1e4');
    expect(wrongBase).not.toEqual(run.exact_greedy_ids);
  });
});
