import { ModelFormatError } from '../errors.ts';
import { expectedTensors } from '../model/config.ts';
import { isPacked, lmHeadName, type ModelWeights, type Weight, weightOf } from '../model/weights.ts';
import type { WeightFormat } from '../quant/formats.ts';
import type { GpuDevice } from './device.ts';
import { packedRun, type PackedRun, packable, widenToF32Run } from './packedRuns.ts';

/** Output columns offset .. offset + n - 1 of a product, packed in one format. */
export interface PackedPart {
  format: WeightFormat;
  buffer: GPUBuffer;
  n: number;
  offset: number;
}

/**
 * A linear layer's weights W [n, k]: f32 rows (wgsl/matmul.wgsl), or packed parts, one per run
 * of stacked tensors that share a format (wgsl/matmul_packed*.wgsl).
 */
export type LinearWeights =
  | { kind: 'f32'; k: number; n: number; buffer: GPUBuffer }
  | { kind: 'packed'; k: number; n: number; parts: PackedPart[] };

/** The embedding: f32 rows (wgsl/gather_rows.wgsl) or packed rows (wgsl/embed_packed.wgsl). */
export type EmbedWeights = { kind: 'f32'; buffer: GPUBuffer } | { kind: 'packed'; format: WeightFormat; buffer: GPUBuffer };

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
 */
export class GpuWeights {
  readonly embed: EmbedWeights;
  readonly layers: LayerWeights[];
  readonly finalNorm: GPUBuffer;
  /** Shares the embedding's buffer when the embeddings are tied (and its rows suit the product). */
  readonly lmHead: LinearWeights;
  /** Bound where a kernel's bias is switched off. */
  readonly noBias: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];

  constructor(gpu: GpuDevice, w: ModelWeights) {
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
    const own = (label: string, bytes: number, write: (buf: GPUBuffer) => void): GPUBuffer => {
      const buf = gpu.storage(bytes, label);
      write(buf);
      this.owned.push(buf);
      return buf;
    };
    const f32 = (label: string, ...names: string[]): GPUBuffer => {
      const parts = names.map(tensor) as Float32Array[];
      return own(label, parts.reduce((n, p) => n + p.byteLength, 0), (buf) => {
        let offset = 0;
        for (const p of parts) {
          // The weights live in ordinary ArrayBuffers; the cast only narrows TypeScript's view.
          gpu.device.queue.writeBuffer(buf, offset, p as Float32Array<ArrayBuffer>);
          offset += p.byteLength;
        }
      });
    };
    const upload = (label: string, run: PackedRun): GPUBuffer => own(label, run.words.byteLength, (buf) => gpu.device.queue.writeBuffer(buf, 0, run.words));
    const linear = (label: string, k: number, ...names: string[]): LinearWeights => {
      const ts = names.map(tensor);
      const n = ts.reduce((a, t) => a + (isPacked(t) ? t.rows : t.length / k), 0);
      if (ts.every((t) => !isPacked(t))) return { kind: 'f32', k, n, buffer: f32(label, ...names) };
      const parts: PackedPart[] = [];
      let offset = 0;
      for (const run of packedRuns(ts, k)) {
        parts.push({ format: run.format, buffer: upload(`${label} [${offset}..${offset + run.rows}) ${run.format}`, run), n: run.rows, offset });
        offset += run.rows;
      }
      return { kind: 'packed', k, n, parts };
    };

    const h = c.hiddenSize;
    const embedName = 'model.embed_tokens.weight';
    const embed = tensor(embedName);
    this.embed = isPacked(embed) ? { kind: 'packed', format: embed.format, buffer: upload(embedName, packedRun([embed])) } : { kind: 'f32', buffer: f32(embedName, embedName) };
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
    if (headName !== embedName) this.lmHead = linear(headName, h, headName);
    else if (this.embed.kind === 'f32') this.lmHead = { kind: 'f32', k: h, n: c.vocabSize, buffer: this.embed.buffer };
    else if (packable(this.embed.format, h)) this.lmHead = { kind: 'packed', k: h, n: c.vocabSize, parts: [{ format: this.embed.format, buffer: this.embed.buffer, n: c.vocabSize, offset: 0 }] };
    // Rows the product cannot walk unit by unit: a widened copy for the head alone (rare; never for GGUF presets).
    else this.lmHead = { kind: 'packed', k: h, n: c.vocabSize, parts: [{ format: 'F32', buffer: upload('lm_head (widened)', widenToF32Run(h, embed)), n: c.vocabSize, offset: 0 }] };
    this.noBias = gpu.storage(16, 'no bias');
    this.owned.push(this.noBias);
  }

  /** Bytes the weights take on the device (every buffer this object owns). */
  get bytes(): number {
    return this.owned.reduce((n, b) => n + b.size, 0);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

/**
 * Stacked tensors as runs of one format: packed tensors keep their format when the product can
 * walk their rows unit by unit, else (and f32 tensors among packed ones) they become F32 rows.
 */
function packedRuns(ts: Weight[], k: number): PackedRun[] {
  const runs: Weight[][] = [];
  let format: WeightFormat | null = null;
  const formatOf = (t: Weight): WeightFormat => (isPacked(t) && packable(t.format, k) ? t.format : 'F32');
  for (const t of ts) {
    const f = formatOf(t);
    if (f === format) runs[runs.length - 1].push(t);
    else runs.push([t]);
    format = f;
  }
  return runs.map((run) => (formatOf(run[0]) === 'F32' ? widenToF32Run(k, ...run) : packedRun(run)));
}
