import type { Tensor } from './weights.ts';

/**
 * Encodes tensors as one safetensors file: an 8-byte little-endian header length, a JSON
 * header of {name: {dtype, shape, data_offsets}}, then the data, each tensor 8-byte aligned
 * (the header is padded with spaces so the data starts aligned, as the reference writer does).
 */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of tensors.values()) {
    out.set(t.bytes, pos);
    pos += t.bytes.byteLength;
  }
  return out;
}

/** A Tensor view of f32 data. */
export function f32Tensor(data: Float32Array, shape: number[]): Tensor {
  return { dtype: 'F32', shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
