// The format table, ggml type ids and the size arithmetic the GGUF reader and the loaders rely on.
import { describe, expect, it } from 'vitest';
import { dequantize, FORMATS, formatOfGgmlType, packedBytes, quantize, type WeightFormat } from './index.ts';

const NAMES = Object.keys(FORMATS) as WeightFormat[];

// ggml-common.h's block structs, field by field (f16 = 2 bytes): an independent count of blockBytes.
const LAYOUT_BYTES: Record<WeightFormat, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  Q8_0: 2 + 32,
  Q4_0: 2 + 32 / 2,
  Q4_1: 2 + 2 + 32 / 2,
  Q5_0: 2 + 4 + 32 / 2,
  Q5_1: 2 + 2 + 4 + 32 / 2,
  Q4_K: 2 + 2 + 12 + 256 / 2,
  Q5_K: 2 + 2 + 12 + 256 / 8 + 256 / 2,
  Q6_K: 256 / 2 + 256 / 4 + 256 / 16 + 2,
};

describe('FORMATS', () => {
  it('names each entry by its key and has ggml ids that identify it', () => {
    expect([...NAMES].sort()).toEqual(['BF16', 'F16', 'F32', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
    for (const name of NAMES) {
      expect(FORMATS[name].name).toBe(name);
      expect(formatOfGgmlType(FORMATS[name].ggmlType)).toBe(FORMATS[name]);
      expect(FORMATS[name].blockBytes).toBe(LAYOUT_BYTES[name]);
    }
    expect(Object.isFrozen(FORMATS)).toBe(true);
  });

  it('uses ggml_type ids (GGUF tensor types) for the formats Folio reads, and nothing else', () => {
    const ids = Object.fromEntries(NAMES.map((n) => [n, FORMATS[n].ggmlType]));
    expect(ids).toEqual({ F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30 });
    for (const unknown of [4, 5, 9, 10, 11, 15, 16, 29, 31, -1, 1.5, NaN]) expect(formatOfGgmlType(unknown)).toBeUndefined();
  });
});

describe('packedBytes', () => {
  it('counts whole blocks', () => {
    expect(packedBytes('F32', 3)).toBe(12);
    expect(packedBytes('BF16', 5)).toBe(10);
    expect(packedBytes('Q8_0', 576)).toBe(18 * 34); // SmolLM2's hidden size: 18 blocks of 32
    expect(packedBytes('Q4_0', 0)).toBe(0);
    expect(packedBytes('Q4_K', 2048 * 128256)).toBe(((2048 * 128256) / 256) * 144); // Llama-3.2-1B's embedding
    expect(packedBytes('Q6_K', 512)).toBe(420);
  });

  it('throws RangeError for a partial block or a bad count', () => {
    expect(() => packedBytes('Q8_0', 33)).toThrow(RangeError);
    expect(() => packedBytes('Q4_K', 576)).toThrow(RangeError); // 576 is not a multiple of 256
    expect(() => packedBytes('Q4_0', -32)).toThrow(RangeError);
    expect(() => packedBytes('F16', 1.5)).toThrow(RangeError);
    expect(() => packedBytes('Q4_K', 576)).toThrow(/Q4_K.*576.*256/);
  });
});

describe('dequantize / quantize argument checks', () => {
  it('refuse a partial block, short bytes and a short output', () => {
    expect(() => quantize('Q5_1', new Float32Array(40))).toThrow(RangeError);
    expect(() => dequantize('Q5_1', new Uint8Array(24), 64)).toThrow(RangeError);
    expect(() => dequantize('Q5_1', new Uint8Array(48), 64, new Float32Array(32))).toThrow(RangeError);
  });
});
