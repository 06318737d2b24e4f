import { f16BitsToF32 } from '../../src/model/dtype.ts';

/**
 * Just enough of GGUF (v3) to read a file gguf-py wrote with F32, F16 and Q8_0 tensors, for a
 * test that needs the weights transformers ran on: header, metadata (skipped), tensor infos,
 * aligned data; Q8_0 blocks are 32 int8 values with one f16 scale.
 */
export interface GgufTensor {
  /** Hugging Face order: [rows, columns]. */
  shape: number[];
  data: Float32Array;
}

const Q8_0 = 8;
const F16 = 1;
const F32 = 0;

export function readGguf(buf: Uint8Array): Map<string, GgufTensor> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const u32 = () => ((at += 4), view.getUint32(at - 4, true));
  const u64 = () => ((at += 8), Number(view.getBigUint64(at - 8, true)));
  const str = () => {
    const n = u64();
    at += n;
    return new TextDecoder().decode(buf.subarray(at - n, at));
  };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): unknown => {
    if (type === 8) return str();
    if (type === 9) {
      const itemType = u32();
      const n = u64();
      for (let i = 0; i < n; i++) value(itemType);
      return null;
    }
    if (type === 4) return u32();
    at += SIZES[type];
    return null;
  };
  if (new TextDecoder().decode(buf.subarray(0, 4)) !== 'GGUF') throw new Error('not a GGUF file');
  at = 4;
  u32(); // version
  const tensorCount = u64();
  const kvCount = u64();
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const v = value(u32());
    if (key === 'general.alignment') alignment = v as number;
  }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const dims = Array.from({ length: u32() }, u64);
    infos.push({ name, dims, type: u32(), offset: u64() });
  }
  const dataStart = Math.ceil(at / alignment) * alignment;
  const out = new Map<string, GgufTensor>();
  for (const { name, dims, type, offset } of infos) {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const base = dataStart + offset;
    if (type === F32) for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + 4 * i, true);
    else if (type === F16) for (let i = 0; i < n; i++) data[i] = f16BitsToF32(view.getUint16(base + 2 * i, true));
    else if (type === Q8_0) {
      for (let b = 0; b < n / 32; b++) {
        const d = f16BitsToF32(view.getUint16(base + 34 * b, true));
        for (let j = 0; j < 32; j++) data[b * 32 + j] = d * view.getInt8(base + 34 * b + 2 + j);
      }
    } else throw new Error(`${name}: ggml type ${type} is not read here`);
    out.set(name, { shape: [...dims].reverse(), data });
  }
  return out;
}

/** llama.cpp's tensor names for a Llama or Qwen2 model, as Hugging Face names them. */
export function huggingFaceName(gguf: string): string {
  const fixed: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (fixed[gguf]) return fixed[gguf];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(gguf);
  const part: Record<string, string> = {
    attn_norm: 'input_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_output: 'self_attn.o_proj',
    ffn_norm: 'post_attention_layernorm',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  };
  if (!m || !part[m[2]]) throw new Error(`${gguf}: no Hugging Face name`);
  return `model.layers.${m[1]}.${part[m[2]]}.${m[3]}`;
}
