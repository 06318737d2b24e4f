import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { parseConfig } from '../../src/model/config.ts';
import { folderLogits } from './cpuLogits.ts';
import { MISTRAL_7B_V0_1 } from './realConfigs.ts';
import { configRefusal, randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';

const mistral = (o: Record<string, unknown> = {}) => tinyConfig({ model_type: 'mistral', architectures: ['MistralForCausalLM'], ...o });
const qwen2 = (o: Record<string, unknown> = {}) => tinyConfig({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], ...o });


describe('sliding windows: honoured where they cannot change the result, refused where they can', () => {
  const tmp = tempDir('folio-window-');
  afterAll(tmp.cleanup);
  // 64 positions: the whole context of tinyConfig, four times the refused windows below.
  const tokens = Array.from({ length: 64 }, (_, i) => (i * 5 + 1) % 16);
  let n = 0;
  const logits = async (config: Record<string, unknown>, plain: Record<string, unknown>) => {
    const dir = join(tmp.dir, `m${n++}`);
    writeModel(dir, config, randomTensors(plain, 5));
    return folderLogits(dir, tokens);
  };

  const honoured: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['Mistral, sliding_window null (Mistral v0.2 and later)', mistral({ sliding_window: null }), mistral()],
    ['Mistral, a window as long as the context', mistral({ sliding_window: 64 }), mistral()],
    ['Qwen2, use_sliding_window false with a short window (Qwen2.5)', qwen2({ use_sliding_window: false, sliding_window: 16, max_window_layers: 0 }), qwen2()],
    ['Qwen2, use_sliding_window true but max_window_layers past the last layer', qwen2({ use_sliding_window: true, sliding_window: 16, max_window_layers: 2 }), qwen2()],
    [
      'Qwen2 as transformers 5 writes it: layer_types all full_attention, a null window',
      qwen2({ use_sliding_window: false, sliding_window: null, layer_types: ['full_attention', 'full_attention'] }),
      qwen2(),
    ],
  ];
  for (const [name, config, plain] of honoured) {
    it(`${name}: loads, and its logits equal the model's without the window`, async () => {
      const [a, b] = await Promise.all([logits(config, plain), logits(plain, plain)]);
      expect(a).toEqual(b);
    });
  }

  const refused: [string, Record<string, unknown>, string][] = [
    ['Mistral, a 16-token window in a 64-token context', mistral({ sliding_window: 16 }), 'sliding_window'],
    ['Mistral, layer_types cannot exempt layers transformers slides anyway', mistral({ sliding_window: 16, layer_types: ['full_attention', 'full_attention'] }), 'sliding_window'],
    ['Llama with a window', tinyConfig({ sliding_window: 16 }), 'sliding_window'],
    ['Qwen2, use_sliding_window true from layer 1', qwen2({ use_sliding_window: true, sliding_window: 16, max_window_layers: 1 }), 'sliding_window'],
    ['Qwen2, layer_types with a sliding layer', qwen2({ use_sliding_window: true, sliding_window: 16, layer_types: ['full_attention', 'sliding_attention'] }), 'sliding_window'],
    ['layer_types with a kind Folio does not run', qwen2({ layer_types: ['full_attention', 'chunked_attention'] }), 'layer_types'],
    ['layer_types of the wrong length', qwen2({ layer_types: ['full_attention'] }), 'layer_types'],
    ['use_sliding_window that is not a boolean', qwen2({ use_sliding_window: 'yes', sliding_window: 16 }), 'use_sliding_window'],
  ];
  for (const [name, config, field] of refused) {
    it(`${name}: ConfigError naming ${field}`, () => {
      expect(configRefusal(config).field).toBe(field);
    });
  }

  it('Mistral 7B v0.1 (4096 of 32768) is refused with the way to run it within its window', () => {
    const e = configRefusal(MISTRAL_7B_V0_1);
    expect(e.field).toBe('sliding_window');
    expect(e.message).toContain('set max_position_embeddings to 4096');
    expect(parseConfig({ ...MISTRAL_7B_V0_1, max_position_embeddings: 4096 }).maxPositions).toBe(4096);
  });
});
