import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ropeInvFreq } from '../../src/cpu/rope.ts';
import { ConfigError } from '../../src/errors.ts';
import { expectedTensors, parseConfig } from '../../src/model/config.ts';
import { SHARED } from '../paths.ts';
import { folderLogits, maxDiff } from './cpuLogits.ts';
import { REAL_CONFIGS } from './realConfigs.ts';
import { configRefusal, randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';


/** transformers' _compute_llama3_parameters, written out again from its Python, not from src/cpu. */
function llama3InvFreq(theta: number, dim: number, factor: number, low: number, high: number, old: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < dim; i += 2) {
    const base = 1 / theta ** (i / dim);
    const wavelen = (2 * Math.PI) / base;
    let f = wavelen > old / low ? base / factor : base;
    const smooth = (old / wavelen - low) / (high - low);
    const medium = !(wavelen < old / high) && !(wavelen > old / low);
    if (medium) f = (1 - smooth) * (f / factor) + smooth * f;
    out.push(f);
  }
  return out;
}

describe('RoPE as transformers 4 and transformers 5 write it', () => {
  it('reads rope_parameters from a config written by transformers 5.18 (qwen2-tiny-hf): theta 1e6, not 10000', () => {
    const raw = JSON.parse(readFileSync(join(SHARED, 'models', 'gguf', 'qwen2-tiny-hf', 'config.json'), 'utf8'));
    expect(raw.rope_parameters).toEqual({ rope_theta: 1000000, rope_type: 'default' });
    expect(raw.rope_theta).toBeUndefined();
    const c = parseConfig(raw);
    expect(c.ropeTheta).toBe(1000000);
    expect(c.ropeScaling).toBeNull();
    expect(c.headDim).toBe(64);
  });

  it('reads Llama 3.2 llama3 scaling by value from both spellings, to the same config and frequencies', () => {
    const v4 = parseConfig(REAL_CONFIGS['Llama-3.2-1B (v4)']);
    const v5 = parseConfig(REAL_CONFIGS['Llama-3.2-1B (v5)']);
    expect(v5).toEqual(v4);
    expect(v5.ropeTheta).toBe(500000);
    expect(v5.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    const expected = llama3InvFreq(500000, 64, 32, 1, 4, 8192);
    const got = [...ropeInvFreq(v5)];
    got.forEach((f, i) => expect(f).toBeCloseTo(expected[i], 15));
    // Scaling does something here: the longest wavelengths are divided by 32.
    expect(got[31]).toBeCloseTo(1 / 500000 ** (62 / 64) / 32, 15);
  });

  it('reads rope_parameters nested by layer kind when every kind has the same RoPE', () => {
    const params = { rope_type: 'default', rope_theta: 250000 };
    const c = parseConfig(tinyConfig({ rope_theta: undefined, rope_parameters: { full_attention: params, sliding_attention: params } }));
    expect(c.ropeTheta).toBe(250000);
    const e = configRefusal(tinyConfig({ rope_theta: undefined, rope_parameters: { full_attention: params, sliding_attention: { ...params, rope_theta: 10000 } } }));
    expect(e.field).toBe('rope_parameters');
  });

  it('takes rope_theta from the top level when rope_parameters leaves it out, as transformers 5 does', () => {
    expect(parseConfig(tinyConfig({ rope_theta: 40000, rope_parameters: { rope_type: 'default' } })).ropeTheta).toBe(40000);
  });

  it('accepts both spellings when they agree and refuses them when they disagree', () => {
    expect(parseConfig(tinyConfig({ rope_theta: 500000, rope_parameters: { rope_type: 'default', rope_theta: 500000 } })).ropeTheta).toBe(500000);
    const e = configRefusal(tinyConfig({ rope_theta: 10000, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }));
    expect(e.field).toBe('rope_parameters');
    expect(e.message).toContain('disagrees with rope_theta');
  });

  it('refuses RoPE types it does not run, naming the nested field, in either spelling', () => {
    expect(configRefusal(tinyConfig({ rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4 } })).field).toBe('rope_parameters.rope_type');
    expect(configRefusal(tinyConfig({ rope_scaling: { type: 'dynamic', factor: 2 } })).field).toBe('rope_scaling.type');
    expect(configRefusal(tinyConfig({ rope_scaling: { rope_type: 'linear', factor: 2 } })).field).toBe('rope_scaling.rope_type');
    expect(configRefusal(tinyConfig({ rope_parameters: { rope_type: 'llama3', rope_theta: 10000 } })).field).toBe('rope_parameters.factor');
    expect(configRefusal(tinyConfig({ rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.5 } })).field).toBe(
      'rope_parameters.partial_rotary_factor',
    );
    const flat = configRefusal(tinyConfig({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4 } }));
    expect(flat.field).toBe('rope_scaling.high_freq_factor');
  });

  it('reads head_dim where it differs from hidden_size / num_attention_heads', () => {
    const c = parseConfig(tinyConfig({ head_dim: 8 }));
    expect(c.headDim).toBe(8);
    expect(expectedTensors(c).get('model.layers.0.self_attn.q_proj.weight')).toEqual([16, 8]);
    expect(expectedTensors(c).get('model.layers.0.self_attn.o_proj.weight')).toEqual([8, 16]);
    expect(configRefusal(tinyConfig({ hidden_size: 10, num_attention_heads: 4, num_key_value_heads: 2 })).field).toBe('head_dim');
  });
});

describe('a model saved by transformers 5 runs as the same model saved by transformers 4 (TypeScript reference)', () => {
  const tmp = tempDir('folio-rope-');
  afterAll(tmp.cleanup);
  const tokens = Array.from({ length: 48 }, (_, i) => (i * 7 + 3) % 16);
  // head_dim 8 with hidden 8 and 2 heads: four frequencies, and a head size that is not hidden / heads.
  const shape = { head_dim: 8 };
  const scaling = { rope_type: 'llama3', factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 };
  const v4 = tinyConfig({ ...shape, rope_theta: 500000, rope_scaling: scaling });
  const { rope_theta: _t, rope_scaling: _s, ...rest } = v4;
  const v5 = { ...rest, rope_parameters: { ...scaling, rope_theta: 500000 }, transformers_version: '5.18.0' };
  const plain = tinyConfig(shape);
  const tensors = randomTensors(plain, 11);

  it('equal logits at every position, and different from the default RoPE that ignoring rope_parameters gives', async () => {
    const dirs = { v4: join(tmp.dir, 'v4'), v5: join(tmp.dir, 'v5'), plain: join(tmp.dir, 'plain') };
    writeModel(dirs.v4, v4, tensors);
    writeModel(dirs.v5, v5, tensors);
    writeModel(dirs.plain, plain, tensors);
    const [a, b, c] = await Promise.all([folderLogits(dirs.v4, tokens), folderLogits(dirs.v5, tokens), folderLogits(dirs.plain, tokens)]);
    expect(b).toEqual(a);
    expect(maxDiff(a, c)).toBeGreaterThan(1e-3);
  });
});
