import { gguf, GGUFValueType } from '@huggingface/gguf';
import { memoryFetch } from '../../src/gguf/memoryFetch.ts';

/**
 * A test-only gguf-split: writes a GGUF file as llama.cpp's gguf-split does (every part a GGUF
 * file of its own; the first part keeps every metadata key of the original, the others only
 * split.*; each part's tensor offsets start at its own data section; split.no, split.count
 * (u16) and split.tensors.count (i32) in every part). The original's key-value bytes are copied
 * as they are, so only the split keys and the tensor lists are written here. Defects for the
 * malformed-split tests are asked for by name.
 */
export interface SplitOptions {
  /** split.count written into every part (the number of parts by default). */
  count?: number;
  /** split.no written into part i (i by default). */
  splitNo?: (i: number) => number;
  /** split.tensors.count written into the parts (the tensors of the original by default). */
  tensorsCount?: number;
}

const ALIGN = 32;

export async function splitGguf(bytes: Uint8Array, groups: string[][], opts: SplitOptions = {}): Promise<Uint8Array[]> {
  const parsed = await gguf('https://folio.invalid/split.gguf', { fetch: memoryFetch(bytes) });
  if (parsed.metadata.version !== 3) throw new Error('splitGguf writes version 3 files');
  if ((parsed.metadata as Record<string, unknown>)['general.alignment'] !== undefined) throw new Error('splitGguf writes the default alignment only');
  const dataStart = Number(parsed.tensorDataOffset);
  const byOffset = [...parsed.tensorInfos].sort((a, b) => Number(a.offset - b.offset));
  // Each tensor's bytes (with the padding after it): from its offset to the next one's.
  const extent = new Map(byOffset.map((t, i) => [t.name, [dataStart + Number(t.offset), i + 1 < byOffset.length ? dataStart + Number(byOffset[i + 1].offset) : bytes.length]]));
  const info = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
  // KV pairs of the original: after magic, version, tensor count and KV count (4 + 4 + 8 + 8 bytes).
  const kvBytes = bytes.subarray(24, parsed.tensorInfoByteRange[0]);
  const kvCount = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(16, true));
  return groups.map((names, i) => {
    const w = new Writer();
    w.raw(new TextEncoder().encode('GGUF'));
    w.u32(3);
    w.u64(names.length);
    w.u64((i === 0 ? kvCount : 0) + 3);
    if (i === 0) w.raw(kvBytes);
    w.key('split.no', GGUFValueType.UINT16).u16(opts.splitNo?.(i) ?? i);
    w.key('split.count', GGUFValueType.UINT16).u16(opts.count ?? groups.length);
    w.key('split.tensors.count', GGUFValueType.INT32).u32(opts.tensorsCount ?? parsed.tensorInfos.length);
    let offset = 0;
    const data: Uint8Array[] = [];
    for (const name of names) {
      const t = info.get(name)!;
      const [from, to] = extent.get(name)!;
      w.str(name);
      w.u32(t.shape.length);
      for (const d of t.shape) w.u64(Number(d));
      w.u32(t.dtype);
      w.u64(offset);
      data.push(bytes.subarray(from, to));
      offset += Math.ceil((to - from) / ALIGN) * ALIGN;
    }
    w.pad(ALIGN);
    for (const d of data) {
      w.raw(d);
      w.pad(ALIGN);
    }
    return w.bytes();
  });
}

class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  raw(b: Uint8Array): this {
    this.parts.push(b.slice());
    this.length += b.length;
    return this;
  }

  private view(n: number, set: (v: DataView) => void): this {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    return this.raw(b);
  }

  u16 = (v: number) => this.view(2, (d) => d.setUint16(0, v, true));
  u32 = (v: number) => this.view(4, (d) => d.setUint32(0, v, true));
  u64 = (v: number) => this.view(8, (d) => d.setBigUint64(0, BigInt(v), true));

  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }

  key(name: string, type: GGUFValueType): this {
    return this.str(name).u32(type);
  }

  pad(align: number): this {
    const n = (align - (this.length % align)) % align;
    return n > 0 ? this.raw(new Uint8Array(n)) : this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
