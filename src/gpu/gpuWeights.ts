import { ModelFormatError, ModelTooLargeError } from '../errors.ts';
import { expectedTensors } from '../model/config.ts';
import { isPacked, lmHeadName, type ModelWeights, type Weight, weightOf } from '../model/weights.ts';
import type { WeightFormat } from '../quant/formats.ts';
import type { GpuDevice, GpuLimits } from './device.ts';
import { packable, type RunSource, runChunks, runSources, rowsPerChunk } from './packedRuns.ts';

/** Output columns offset .. offset + n - 1 of a product, packed in one format. */
export interface PackedPart {
  format: WeightFormat;
  buffer: GPUBuffer;
  n: number;
  offset: number;
}

/**
 * A linear layer's weights W [n, k]: f32 rows in one buffer (wgsl/matmul.wgsl), or packed parts,
 * one per run of stacked tensors that share a format and per chunk of rows that fits one binding
 * (wgsl/matmul_packed*.wgsl, wgsl/matmul_gemv.wgsl, wgsl/matmul_tiled.wgsl); f32 rows too large
 * for one binding are F32 parts.
 */
export type LinearWeights =
  | { kind: 'f32'; k: number; n: number; buffer: GPUBuffer }
  | { kind: 'packed'; k: number; n: number; parts: PackedPart[] };

/** Vocabulary rows row0 .. row0 + rows - 1 of the embedding, in one buffer. */
export interface EmbedChunk {
  buffer: GPUBuffer;
  row0: number;
  rows: number;
}

/**
 * The embedding: f32 rows (wgsl/gather_rows.wgsl) or packed rows (wgsl/embed_packed.wgsl), in
 * chunks of rows that each fit one binding (one chunk unless the table is larger than that).
 */
export type EmbedWeights = { kind: 'f32'; width: number; chunks: EmbedChunk[] } | { kind: 'packed'; format: WeightFormat; width: number; chunks: EmbedChunk[] };

/** The per-binding size the weights are cut to, and where that figure comes from (for errors). */
export interface BindingLimit {
  bytes: number;
  source: string;
}

export interface LayerWeights {
  inputNorm: GPUBuffer;
  /** q_proj, k_proj and v_proj stacked: [(heads + 2 kv_heads) * head_dim, hidden]. */
  qkv: LinearWeights;
  /** Their biases stacked likewise, or null. */
  qkvBias: GPUBuffer | null;
  oProj: LinearWeights;
  postNorm: GPUBuffer;
  /** gate_proj and up_proj stacked: [2 * ffn, hidden]. */
  gateUp: LinearWeights;
  down: LinearWeights;
}

/**
 * The model's tensors on the GPU, uploaded once: f32 tensors as f32, packed ones (GGUF) in their
 * own format, so the device holds the file's bytes. Projections that read the same input are
 * stacked (q/k/v, gate/up) so that each is one product: one buffer when every part has the same
 * format, else one buffer per run of equal formats, each writing its columns of the output.
 * Buffers within limits: a run (or the embedding) larger than one storage binding is cut by
 * output rows into chunks that fit (`limit`), each an ordinary weight to the kernels that writes
 * its slice of the output (the lookup: its slice of the vocabulary); a row wider than a binding
 * is a ModelTooLargeError naming both sizes.
 */
export class GpuWeights {
  readonly embed: EmbedWeights;
  readonly layers: LayerWeights[];
  readonly finalNorm: GPUBuffer;
  /** Shares the embedding's buffers when the embeddings are tied (and its rows suit the product). */
  readonly lmHead: LinearWeights;
  /** Bound where a kernel's bias is switched off. */
  readonly noBias: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];

  constructor(gpu: GpuDevice, w: ModelWeights, limit: BindingLimit) {
    const c = w.config;
    const shapes = expectedTensors(c);
    const tensor = (name: string): Weight => {
      const t = weightOf(w, name);
      if (!t) throw new ModelFormatError('weights', 'tensor is missing', name);
      const want = (shapes.get(name) ?? []).reduce((a, b) => a * b, 1);
      const has = isPacked(t) ? t.rows * t.cols : t.length;
      if (has !== want) throw new ModelFormatError('weights', `has ${has} values, expected ${want}`, name);
      return t;
    };
    const own = (label: string, data: Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>): GPUBuffer => {
      const buf = gpu.storage(data.byteLength, label);
      gpu.device.queue.writeBuffer(buf, 0, data);
      this.owned.push(buf);
      return buf;
    };
    const f32 = (label: string, ...names: string[]): GPUBuffer => {
      const parts = names.map(tensor) as Float32Array[];
      const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return own(label, all);
    };
    /** Each chunk of rows that fits one binding, uploaded as its own buffer. */
    const chunks = (label: string, run: RunSource): Array<{ buffer: GPUBuffer; row0: number; rows: number }> => {
      const per = rowsPerChunk(run.rowBytes, limit.bytes);
      if (per < 1) throw new ModelTooLargeError(`one ${run.format} row of ${label}`, run.rowBytes, limit.bytes, limit.source);
      const out = [];
      for (const ch of runChunks(run, per)) {
        const name = per >= run.rows ? `${label} ${run.format}` : `${label} rows [${ch.row0}..${ch.row0 + ch.rows}) ${run.format}`;
        out.push({ buffer: own(name, ch.words), row0: ch.row0, rows: ch.rows });
      }
      return out;
    };
    const partsOf = (label: string, runs: RunSource[]): PackedPart[] => {
      const parts: PackedPart[] = [];
      let offset = 0;
      for (const run of runs) {
        for (const ch of chunks(label, run)) parts.push({ format: run.format, buffer: ch.buffer, n: ch.rows, offset: offset + ch.row0 });
        offset += run.rows;
      }
      return parts;
    };
    const linear = (label: string, k: number, ...names: string[]): LinearWeights => {
      const ts = names.map(tensor);
      const n = ts.reduce((a, t) => a + (isPacked(t) ? t.rows : t.length / k), 0);
      // f32 rows that fit one binding keep wgsl/matmul.wgsl (with its fused bias); beyond, F32 parts.
      if (ts.every((t) => !isPacked(t)) && 4 * n * k <= limit.bytes) return { kind: 'f32', k, n, buffer: f32(label, ...names) };
      return { kind: 'packed', k, n, parts: partsOf(label, runSources(ts, k)) };
    };

    const h = c.hiddenSize;
    const embedName = 'model.embed_tokens.weight';
    const embed = tensor(embedName);
    // The table as it is (packed in any format, or f32), whatever its rows' width: the lookup decodes element by element.
    const embedRun: RunSource = isPacked(embed)
      ? { format: embed.format, rows: embed.rows, rowBytes: embed.bytes.length / embed.rows, parts: [embed.bytes] }
      : runSources([embed], h)[0];
    const embedChunks = chunks(embedName, embedRun);
    this.embed = isPacked(embed) ? { kind: 'packed', format: embed.format, width: h, chunks: embedChunks } : { kind: 'f32', width: h, chunks: embedChunks };
    this.layers = Array.from({ length: c.numLayers }, (_, l) => {
      const p = `model.layers.${l}.`;
      const a = `${p}self_attn.`;
      return {
        inputNorm: f32(`${p}input_layernorm.weight`, `${p}input_layernorm.weight`),
        qkv: linear(`${a}qkv_proj.weight`, h, `${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`),
        qkvBias: c.qkvBias ? f32(`${a}qkv_proj.bias`, `${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`) : null,
        oProj: linear(`${a}o_proj.weight`, c.numHeads * c.headDim, `${a}o_proj.weight`),
        postNorm: f32(`${p}post_attention_layernorm.weight`, `${p}post_attention_layernorm.weight`),
        gateUp: linear(`${p}mlp.gate_up_proj.weight`, h, `${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`),
        down: linear(`${p}mlp.down_proj.weight`, c.intermediateSize, `${p}mlp.down_proj.weight`),
      };
    });
    this.finalNorm = f32('model.norm.weight', 'model.norm.weight');
    const headName = lmHeadName(w);
    const v = c.vocabSize;
    const headFormat: WeightFormat = this.embed.kind === 'f32' ? 'F32' : this.embed.format;
    if (headName !== embedName) this.lmHead = linear(headName, h, headName);
    else if (this.embed.kind === 'f32' && embedChunks.length === 1) this.lmHead = { kind: 'f32', k: h, n: v, buffer: embedChunks[0].buffer };
    // The tied head reads the embedding's own chunks: each is a part writing its vocabulary columns.
    else if (packable(headFormat, h)) this.lmHead = { kind: 'packed', k: h, n: v, parts: embedChunks.map((ch) => ({ format: headFormat, buffer: ch.buffer, n: ch.rows, offset: ch.row0 })) };
    // Rows the product cannot walk unit by unit: a widened copy for the head alone (rare; never for GGUF presets).
    else this.lmHead = { kind: 'packed', k: h, n: v, parts: partsOf('lm_head (widened)', runSources([embed], h)) };
    this.noBias = gpu.storage(16, 'no bias');
    this.owned.push(this.noBias);
  }

  /** Bytes the weights take on the device (every buffer this object owns). */
  get bytes(): number {
    return this.owned.reduce((n, b) => n + b.size, 0);
  }

  get bufferSizes(): number[] {
    return this.owned.map((b) => b.size);
  }

  /**
   * Weight bytes one decode step reads: every layer's buffers, the final norm, the LM head's
   * buffers (the tied head reads the whole embedding) and one embedding row per token.
   */
  get bytesPerToken(): number {
    const linear = (l: LinearWeights) => (l.kind === 'f32' ? l.buffer.size : l.parts.reduce((n, p) => n + p.buffer.size, 0));
    const layers = this.layers.reduce(
      (n, l) => n + l.inputNorm.size + l.postNorm.size + (l.qkvBias?.size ?? 0) + linear(l.qkv) + linear(l.oProj) + linear(l.gateUp) + linear(l.down),
      0,
    );
    const table = this.embed.chunks.reduce((n, ch) => n + ch.buffer.size, 0) / this.embed.chunks.reduce((n, ch) => n + ch.rows, 0);
    return layers + this.finalNorm.size + linear(this.lmHead) + Math.round(table);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

/** The largest storage binding the weights may use: the adapter's, clamped by the caller's (never raised). */
export function bindingLimit(limits: GpuLimits, clamp: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } = {}): BindingLimit {
  const binding = Math.min(limits.maxStorageBufferBindingSize, clamp.maxStorageBufferBindingSize ?? Infinity);
  const buffer = Math.min(limits.maxBufferSize, clamp.maxBufferSize ?? Infinity);
  const clamped = clamp.maxStorageBufferBindingSize !== undefined || clamp.maxBufferSize !== undefined;
  const source = binding <= buffer ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  return { bytes: Math.min(binding, buffer), source: `the adapter's ${source}${clamped ? ' (clamped)' : ''}` };
}
