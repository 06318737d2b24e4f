import { expectedTensors } from '../../model/config.ts';
import { type ModelWeights, type PackedTensor } from '../../model/weights.ts';
import { dequantize, FORMATS, type WeightFormat } from '../../quant/index.ts';
import type { Arena } from './Arena.ts';
import type { KernelFormat } from './wat/decoders.ts';

/**
 * A tensor in kernel memory from byte `at`: `rows` rows of `rowBytes` in `format`; written row-major
 * by `fill`, then rearranged into the matmul's quad layout (rowQuads.ts; 1-D tensors stay as they are).
 */
export interface PlacedTensor {
  at: number;
  format: KernelFormat;
  rows: number;
  cols: number;
  rowBytes: number;
}

/** The packed formats with a kernel of their own; every other one is widened to f32 once, at load, as the oracle does. */
const NATIVE: Partial<Record<WeightFormat, KernelFormat>> = { F32: 'f32', F16: 'f16', Q8_0: 'q8_0', Q4_0: 'q4_0' };

interface Pending {
  name: string;
  placed: PlacedTensor;
  bytes: () => Uint8Array;
}

/**
 * Reserves every tensor of the model in the arena and returns how to fill them once the memory
 * exists. Packed weights keep their bytes (ggml's layout is what the kernels read); a format without
 * a kernel (BF16, Q4_1, Q5_*, K-quants) is dequantized to f32 here, like src/cpu/f32Weights.ts.
 */
export function placeWeights(weights: ModelWeights, arena: Arena): { tensors: Map<string, PlacedTensor>; fill: (memory: WebAssembly.Memory) => void; formats: Set<string> } {
  const pending: Pending[] = [];
  const formats = new Set<string>();
  for (const [name, shape] of expectedTensors(weights.config)) {
    const rows = shape.length === 2 ? shape[0] : 1;
    const cols = shape[shape.length - 1];
    const packed: PackedTensor | undefined = weights.packed?.get(name);
    const native = packed ? NATIVE[packed.format] : 'f32';
    if (packed && native) {
      const rowBytes = (cols / FORMATS[packed.format].blockElems) * FORMATS[packed.format].blockBytes;
      pending.push({ name, placed: { at: arena.reserve(rows * rowBytes), format: native, rows, cols, rowBytes }, bytes: () => packed.bytes.subarray(0, rows * rowBytes) });
      formats.add(native);
      continue;
    }
    const values = (): Float32Array => {
      if (packed) return dequantize(packed.format, packed.bytes, rows * cols);
      const t = weights.tensors.get(name);
      if (!t) throw new RangeError(`weight ${name} is missing`);
      return t;
    };
    formats.add(packed ? `f32 (from ${packed.format})` : 'f32');
    pending.push({ name, placed: { at: arena.reserve(rows * cols * 4), format: 'f32', rows, cols, rowBytes: cols * 4 }, bytes: () => { const v = values(); return new Uint8Array(v.buffer, v.byteOffset, rows * cols * 4); } });
  }
  return {
    tensors: new Map(pending.map((p) => [p.name, p.placed])),
    fill: (memory) => {
      const heap = new Uint8Array(memory.buffer);
      for (const p of pending) heap.set(p.bytes(), p.placed.at);
    },
    formats,
  };
}
