import { expectedTensors } from '../../src/model/config.ts';
import type { ModelWeights, PackedTensor } from '../../src/model/weights.ts';
import { FORMATS, quantize, type WeightFormat } from '../../src/quant/index.ts';

/** The same model with every 2-D weight whose rows are whole blocks packed in `format` (the others stay f32). */
export function packWeights(w: ModelWeights, format: WeightFormat): ModelWeights {
  const tensors = new Map(w.tensors);
  const packed = new Map<string, PackedTensor>();
  for (const [name, shape] of expectedTensors(w.config)) {
    if (shape.length !== 2 || shape[1] % FORMATS[format].blockElems !== 0) continue;
    packed.set(name, { format, bytes: quantize(format, w.tensors.get(name)!), rows: shape[0], cols: shape[1] });
    tensors.delete(name);
  }
  return { ...w, tensors, packed, fingerprint: `${w.fingerprint}-${format}` };
}

/** max |a - b| over max |ref|: the "relative" of the WebAssembly path's 1e-5 bound. */
export function relativeError(ref: Float32Array, got: Float32Array): number {
  if (ref.length !== got.length) throw new Error(`lengths differ: ${ref.length} and ${got.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ref[i] - got[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return Number.isNaN(d) ? Infinity : d / m;
}
