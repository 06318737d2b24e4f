import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpermuteRopeRowBytes, unpermuteRopeRows } from '../../src/gguf/ropeOrder.ts';
import { dequantize, quantize } from '../../src/quant/index.ts';
import { GGUF_DIR, loadPath } from './ggufFiles.ts';

describe('GGUF weights stay packed on load', () => {
  it('moving packed q/k rows equals moving their decoded rows (rows are whole blocks)', () => {
    for (const [format, heads, headDim, cols] of [['Q4_0', 2, 8, 64], ['Q6_K', 3, 4, 256], ['F16', 1, 6, 12]] as const) {
      const rows = heads * headDim;
      const values = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
      const packed = quantize(format, values);
      const moved = unpermuteRopeRowBytes(packed, headDim, packed.length / rows);
      expect(dequantize(format, moved, rows * cols)).toEqual(unpermuteRopeRows(dequantize(format, packed, rows * cols), headDim, cols));
    }
  });

  it('rand256-Q4_K_M: every 2-D tensor packed in its own type, 1-D ones f32', async () => {
    const { weights } = await loadPath(resolve(GGUF_DIR, 'rand256-Q4_K_M.gguf'));
    const packed = weights.packed!;
    expect(packed.size).toBe(30);
    expect([...weights.tensors.keys()].every((n) => n.endsWith('norm.weight'))).toBe(true);
    expect(packed.get('lm_head.weight')!.format).toBe('Q6_K');
    expect(packed.get('model.layers.2.self_attn.v_proj.weight')!.format).toBe('Q6_K');
    expect(packed.get('model.layers.2.self_attn.q_proj.weight')!.format).toBe('Q4_K');
    expect(packed.get('model.layers.0.mlp.down_proj.weight')!).toMatchObject({ format: 'Q4_K', rows: 256, cols: 768 });
    expect(packed.get('model.layers.0.mlp.down_proj.weight')!.bytes.length).toBe((256 * 768 * 144) / 256);
  });
});
