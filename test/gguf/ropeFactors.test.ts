import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { llama3FromRopeFactors } from '../../src/gguf/ropeFactors.ts';
import { cpuLogits, maxDiff } from '../model/cpuLogits.ts';
import { fixtureBytes, loadPath, tempFolder, withExtraTensor } from './ggufFiles.ts';

const tmp = tempFolder();
afterAll(() => tmp.remove());

/** convert_hf_to_gguf.py's rope_freqs for llama3 scaling, transcribed: f32 frequencies, f32 result. */
function convertRopeFreqs(base: number, dim: number, factor: number, low: number, high: number, orig: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(base, Math.fround((2 * i) / dim))));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < orig / high) out[i] = 1;
    else if (wavelen > orig / low) out[i] = factor;
    else {
      const smooth = (orig / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

describe("llama3 RoPE scaling from llama.cpp's rope_freqs.weight", () => {
  it('recovers the parameters of Llama 3.2 1B and Llama 3.1 8B from their factors', () => {
    expect(llama3FromRopeFactors(convertRopeFreqs(500000, 64, 32, 1, 4, 8192), 500000, 64, 'x.gguf')).toEqual({
      type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192,
    });
    expect(llama3FromRopeFactors(convertRopeFreqs(500000, 128, 8, 1, 4, 8192), 500000, 128, 'x.gguf')).toMatchObject({ factor: 8, originalMaxPositions: 8192 });
    expect(llama3FromRopeFactors(new Float32Array(32).fill(1), 500000, 64, 'x.gguf')).toBeNull();
  });

  it('refuses factors llama3 scaling does not produce, naming the tensor', () => {
    const factors = convertRopeFreqs(500000, 64, 32, 1, 4, 8192);
    factors[20] *= 1.01;
    const err = (() => {
      try {
        return llama3FromRopeFactors(factors, 500000, 64, 'x.gguf');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as ModelFormatError).tensor).toBe('rope_freqs.weight');
    expect(() => llama3FromRopeFactors(new Float32Array(5), 500000, 64, 'x.gguf')).toThrow(/5 factors; a head of 64 has 32/);
  });

  it('a GGUF file with rope_freqs.weight runs with that scaling (stories260K: head 8, base 1e4)', async () => {
    // orig 2048: one frequency beyond the low wavelength (scaled by the factor), one smoothed
    const factors = convertRopeFreqs(10000, 8, 4, 1, 4, 2048);
    const scaled = await loadPath(tmp.write('freqs.gguf', await withExtraTensor(fixtureBytes('stories260K-F32.gguf'), 'rope_freqs.weight', factors)));
    expect(scaled.weights.config.ropeScaling).toEqual({ type: 'llama3', factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 2048 });
    const plain = await loadPath(tmp.write('plain.gguf', fixtureBytes('stories260K-F32.gguf')));
    const tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
    const withScaling = { ...plain.weights, config: { ...plain.weights.config, ropeScaling: scaled.weights.config.ropeScaling } };
    expect(maxDiff(await cpuLogits(scaled.weights, tokens), await cpuLogits(withScaling, tokens))).toBe(0);
    expect(maxDiff(await cpuLogits(scaled.weights, tokens), await cpuLogits(plain.weights, tokens))).toBeGreaterThan(1e-3);
  });
});
