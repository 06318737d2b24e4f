import { ModelFormatError } from '../errors.ts';
import { expectedTensors } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import type { GpuDevice } from './device.ts';

export interface LayerWeights {
  inputNorm: GPUBuffer;
  /** q_proj, k_proj and v_proj stacked: [(heads + 2 kv_heads) * head_dim, hidden]. */
  qkv: GPUBuffer;
  /** Their biases stacked likewise, or null. */
  qkvBias: GPUBuffer | null;
  oProj: GPUBuffer;
  postNorm: GPUBuffer;
  /** gate_proj and up_proj stacked: [2 * ffn, hidden]. */
  gateUp: GPUBuffer;
  down: GPUBuffer;
}

/**
 * The model's tensors on the GPU, f32, uploaded once. Projections that read the same input
 * are stacked into one buffer (q/k/v, gate/up) so that each is one matmul dispatch.
 */
export class GpuWeights {
  readonly embed: GPUBuffer;
  readonly layers: LayerWeights[];
  readonly finalNorm: GPUBuffer;
  /** The embedding buffer itself when the embeddings are tied. */
  readonly lmHead: GPUBuffer;
  /** Bound where a kernel's bias is switched off. */
  readonly noBias: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];

  constructor(gpu: GpuDevice, w: ModelWeights) {
    const c = w.config;
    const shapes = expectedTensors(c);
    const tensor = (name: string): Float32Array => {
      const t = w.tensors.get(name);
      if (!t) throw new ModelFormatError('weights', 'tensor is missing', name);
      const want = (shapes.get(name) ?? []).reduce((a, b) => a * b, 1);
      if (t.length !== want) throw new ModelFormatError('weights', `has ${t.length} values, expected ${want}`, name);
      return t;
    };
    const upload = (label: string, ...names: string[]): GPUBuffer => {
      const parts = names.map(tensor);
      const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
      const buf = gpu.storage(bytes, label);
      let offset = 0;
      for (const p of parts) {
        // The weights live in ordinary ArrayBuffers; the cast only narrows TypeScript's view.
        gpu.device.queue.writeBuffer(buf, offset, p as Float32Array<ArrayBuffer>);
        offset += p.byteLength;
      }
      this.owned.push(buf);
      return buf;
    };
    this.embed = upload('model.embed_tokens.weight', 'model.embed_tokens.weight');
    this.layers = Array.from({ length: c.numLayers }, (_, l) => {
      const p = `model.layers.${l}.`;
      const a = `${p}self_attn.`;
      return {
        inputNorm: upload(`${p}input_layernorm.weight`, `${p}input_layernorm.weight`),
        qkv: upload(`${a}qkv_proj.weight`, `${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`),
        qkvBias: c.qkvBias ? upload(`${a}qkv_proj.bias`, `${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`) : null,
        oProj: upload(`${a}o_proj.weight`, `${a}o_proj.weight`),
        postNorm: upload(`${p}post_attention_layernorm.weight`, `${p}post_attention_layernorm.weight`),
        gateUp: upload(`${p}mlp.gate_up_proj.weight`, `${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`),
        down: upload(`${p}mlp.down_proj.weight`, `${p}mlp.down_proj.weight`),
      };
    });
    this.finalNorm = upload('model.norm.weight', 'model.norm.weight');
    this.lmHead = c.tieWordEmbeddings ? this.embed : upload('lm_head.weight', 'lm_head.weight');
    this.noBias = gpu.storage(16, 'no bias');
    this.owned.push(this.noBias);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}
