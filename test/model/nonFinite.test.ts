import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { firstNonFinite } from '../../src/model/nonFinite.ts';
import type { DType } from '../../src/model/weights.ts';
import { randomTensors, tempDir, tinyConfig, writeModel } from './synthetic.ts';

describe('non-finite weights are refused at load, naming the tensor', () => {
  const tmp = tempDir('folio-nonfinite-');
  afterAll(tmp.cleanup);
  let n = 0;

  const cases: [string, DType, number, string][] = [
    ['NaN in f32', 'F32', NaN, 'NaN'],
    ['infinity in f16', 'F16', Infinity, 'Infinity'],
    ['a value past f16 range, which becomes infinity when stored', 'F16', 1e6, 'Infinity'],
    ['-infinity in bf16', 'BF16', -Infinity, '-Infinity'],
  ];
  for (const [name, dtype, value, shown] of cases) {
    it(name, async () => {
      const dir = join(tmp.dir, `m${n++}`);
      const tensors = randomTensors(tinyConfig());
      const poisoned = 'model.layers.1.mlp.down_proj.weight'; // [8, 12]
      tensors.get(poisoned)!.data[2 * 12 + 5] = value;
      writeModel(dir, tinyConfig(), tensors, { dtype, shards: 2 });
      const err = await loadModel(new FolderSource(dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelFormatError);
      expect((err as ModelFormatError).tensor).toBe(poisoned);
      expect((err as ModelFormatError).file).toMatch(/^model-0000\d-of-00002\.safetensors$/);
      expect((err as Error).message).toContain(`holds ${shown} at element [2, 5]`);
    });
  }

  it('finds the first non-finite value anywhere, and none in finite data (largest and smallest floats included)', () => {
    const a = new Float32Array(1000).fill(0.5);
    a[1] = 3.4028234663852886e38;
    a[2] = -1.4e-45;
    expect(firstNonFinite(a)).toBe(-1);
    for (const i of [0, 999, 500]) {
      const b = a.slice();
      b[i] = NaN;
      expect(firstNonFinite(b)).toBe(i);
      expect(firstNonFinite(b.subarray(i))).toBe(0);
    }
  });

  it('is cheap: 16M weights scanned well within a second', () => {
    const big = new Float32Array(16 * 2 ** 20).fill(0.25);
    const t0 = performance.now();
    expect(firstNonFinite(big)).toBe(-1);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
