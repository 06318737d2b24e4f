import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { parseConfig } from '../../src/model/config.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { pickWeights, weightBytes } from '../../src/quant/quantizeModel.ts';
import { REAL_CONFIGS } from '../model/realConfigs.ts';
import { DEFAULT_MODEL } from '../paths.ts';

const LLAMA_1B = parseConfig(REAL_CONFIGS['Llama-3.2-1B (v4)']);
const SMOLLM2 = parseConfig(REAL_CONFIGS['SmolLM2-135M (v4)']);
const DEFAULTS = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 };
const BIG = { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 };
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

/** weights: 'auto' — the widest format within the adapter's per-buffer limit and the weight budget. */
describe("weights: 'auto'", () => {
  it('device bytes per format match the issue\'s figures for Llama-3.2-1B (4.94 GB f32, Q4_0 at most 0.75 GB)', () => {
    expect(sum(weightBytes(LLAMA_1B, 'f32')) / 1e9).toBeCloseTo(4.94, 2);
    expect(sum(weightBytes(LLAMA_1B, 'f16')) / 1e9).toBeCloseTo(2.47, 2);
    expect(sum(weightBytes(LLAMA_1B, 'q4_0'))).toBeLessThan(0.75e9);
    // SmolLM2's 576-wide rows: q4_k falls back to Q5_0 for them (5.5 bits), 1536-wide ones are Q4_K.
    expect(sum(weightBytes(SMOLLM2, 'q4_k'))).toBeGreaterThan(sum(weightBytes(SMOLLM2, 'q4_0')));
  });

  it('picks f32 for SmolLM2-135M (538 MB, a 113 MB embedding) within the defaults, smaller formats under a tighter budget', () => {
    expect(pickWeights(SMOLLM2, DEFAULTS).option).toBe('f32');
    expect(pickWeights(SMOLLM2, { ...DEFAULTS, budgetBytes: 300e6 }).option).toBe('f16');
    expect(pickWeights(SMOLLM2, { ...DEFAULTS, budgetBytes: 200e6 }).option).toBe('q8_0');
    // A 64 MiB binding: the f16 embedding (56.6 MB) fits, the f32 one does not.
    expect(pickWeights(SMOLLM2, { maxStorageBufferBindingSize: 2 ** 26, maxBufferSize: 2 ** 28 }).option).toBe('f16');
  });

  it('picks q4_0 for a 1B model, and says when even that does not fit one default binding (a 147 MB embedding)', () => {
    const big = pickWeights(LLAMA_1B, BIG);
    expect(big.option).toBe('q4_0');
    expect(big.reason).toMatch(/within a 1073\.7 MB budget/);
    const clamped = pickWeights(LLAMA_1B, DEFAULTS);
    expect(clamped.option).toBe('q4_0');
    expect(clamped.reason).toMatch(/no format fits/);
  });

  it('f32 on the CPU (null limits); stories260K on Dawn picks f32; loadEngine reports the pick and refuses an unknown one', async () => {
    expect(pickWeights(SMOLLM2, null)).toEqual({ option: 'f32', reason: 'the CPU backend computes in f32' });
    const source = new FolderSource(DEFAULT_MODEL);
    const picks: string[] = [];
    const engine = await loadEngine({ source, backend: 'cpu', weights: 'auto', onWeights: (p) => picks.push(p.option) });
    expect(picks).toEqual(['f32']);
    expect(engine.fingerprint).toBe((await loadModel(source)).weights.fingerprint);
    const gpuPicks: string[] = [];
    const gpu = await loadEngine({ source, backend: 'webgpu', gpu: dawnGpu(), weights: 'auto', onWeights: (p) => gpuPicks.push(`${p.option}: ${p.reason}`) });
    expect(gpuPicks).toHaveLength(1);
    expect(gpuPicks[0]).toMatch(/^f32: 1\.0 MB of weights/);
    gpu.backend.dispose();
    await expect(loadEngine({ source: new FolderSource('/nonexistent'), backend: 'cpu', weights: 'q3' as never })).rejects.toThrow(InvalidParamsError);
  });
});
