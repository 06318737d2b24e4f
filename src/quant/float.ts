// Plain float formats: F32 (4 bytes), F16 and BF16 (2 bytes), little-endian, one element per "block".
import { f16Table, floatToBf16, floatToHalf } from './half.ts';

/** Every browser Folio targets is little-endian; the typed-array fast paths rely on it and fall back otherwise. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function dequantizeF32(bytes: Uint8Array, n: number, out: Float32Array): void {
  if (LITTLE_ENDIAN) {
    // A byte copy: works whatever bytes.byteOffset is (a Float32Array view would need it 4-aligned).
    new Uint8Array(out.buffer, out.byteOffset, n * 4).set(bytes.subarray(0, n * 4));
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
}

export function dequantizeF16(bytes: Uint8Array, n: number, out: Float32Array): void {
  const t = f16Table();
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n); // one load per element instead of two
    for (let i = 0; i < n; i++) out[i] = t[h[i]];
    return;
  }
  for (let i = 0, o = 0; i < n; i++, o += 2) out[i] = t[bytes[o] | (bytes[o + 1] << 8)];
}

export function dequantizeBF16(bytes: Uint8Array, n: number, out: Float32Array): void {
  // bf16 is the top half of the f32's bits; a u32 view of `out` writes them in host order, whatever it is.
  const bits = new Uint32Array(out.buffer, out.byteOffset, n);
  for (let i = 0, o = 0; i < n; i++, o += 2) bits[i] = ((bytes[o] | (bytes[o + 1] << 8)) << 16) >>> 0;
}

export function quantizeF32(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4));
    return out;
  }
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function quantize16(values: Float32Array, narrow: (x: number) => number): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0, o = 0; i < values.length; i++, o += 2) {
    const h = narrow(values[i]);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
  }
  return out;
}

export const quantizeF16 = (values: Float32Array): Uint8Array => quantize16(values, floatToHalf);
export const quantizeBF16 = (values: Float32Array): Uint8Array => quantize16(values, floatToBf16);
