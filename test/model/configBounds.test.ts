import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { parseConfig } from '../../src/model/config.ts';
import { CONFIG_LIMITS } from '../../src/model/configLimits.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { configRefusal, randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';


describe('every config dimension is bounded up front, naming the field', () => {
  const tmp = tempDir('folio-bounds-');
  afterAll(tmp.cleanup);

  for (const [field, limit] of Object.entries(CONFIG_LIMITS)) {
    it(`${field} above ${limit}, and 1e9, are ConfigErrors naming ${field}`, () => {
      for (const v of [limit + 1, 1e9]) {
        // head_dim is bounded before the heads are divided, so its neighbours need not match.
        const e = configRefusal(tinyConfig({ [field]: v }));
        expect(e.field).toBe(field);
        expect(e.message).toContain('larger than Folio accepts');
      }
    });
  }

  it('num_hidden_layers: 1e9 fails in milliseconds through loadModel, before any weight is read', async () => {
    const dir = join(tmp.dir, 'layers');
    writeModel(dir, { ...tinyConfig(), num_hidden_layers: 1e9 }, randomTensors(tinyConfig()));
    const t0 = performance.now();
    const err = await loadModel(new FolderSource(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('num_hidden_layers');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('refuses sizes that are not positive integers, and norms that are not finite positive numbers', () => {
    expect(configRefusal(tinyConfig({ hidden_size: 8.5 })).field).toBe('hidden_size');
    expect(configRefusal(tinyConfig({ vocab_size: 0 })).field).toBe('vocab_size');
    expect(configRefusal(tinyConfig({ num_key_value_heads: -1 })).field).toBe('num_key_value_heads');
    expect(configRefusal(tinyConfig({ intermediate_size: '12' })).field).toBe('intermediate_size');
    expect(configRefusal(tinyConfig({ rms_norm_eps: -1e-5 })).field).toBe('rms_norm_eps');
    expect(configRefusal(tinyConfig({ rms_norm_eps: 2 })).field).toBe('rms_norm_eps');
    expect(configRefusal(tinyConfig({ rope_theta: Infinity })).message).toContain('got Infinity');
    expect(configRefusal(tinyConfig({ rope_theta: NaN })).message).toContain('got NaN');
    expect(configRefusal(tinyConfig({ tie_word_embeddings: 'true' })).field).toBe('tie_word_embeddings');
    expect(configRefusal(tinyConfig({ sliding_window: 1e300 })).field).toBe('sliding_window');
  });
});
