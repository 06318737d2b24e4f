import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { checkCopyPlan } from '../kv/checkCopyPlan.ts';
import { cacheStartOf, type ForwardBatch, slotOf } from '../kv/batch.ts';
import type { KeyShift } from '../kv/BlockTable.ts';
import { type BlockLayout, scoreBlockData, shiftBlockData } from '../kv/eviction/hostKv.ts';
import type { ModelConfig } from '../model/config.ts';
import { lmHeadName, type ModelWeights } from '../model/weights.ts';
import { f32Weights } from './f32Weights.ts';
import { matvec, rmsnorm, silu } from './ops.ts';
import { applyRope, ropeInvFreq } from './rope.ts';

export interface CpuBackendOptions {
  blockSize: number;
  numBlocks: number;
}

/**
 * The reference forward pass in plain TypeScript (f32 storage, f64 accumulation).
 * Its KV cache uses the same paged addressing as the GPU: per layer a K pool and a V pool
 * laid out [num_blocks, num_kv_heads, block_size, head_dim], read only through block tables.
 */
export class CpuBackend implements ForwardBackend {
  readonly name = 'cpu' as const;
  readonly config: ModelConfig;
  readonly blockSize: number;
  readonly numBlocks: number;
  /** Every tensor as f32 (packed ones dequantized at construction). */
  private readonly t: Map<string, Float32Array>;
  private readonly lmHead: Float32Array;
  private readonly kPools: Float32Array[];
  private readonly vPools: Float32Array[];
  private readonly invFreq: Float64Array;

  constructor(weights: ModelWeights, opts: CpuBackendOptions) {
    this.t = f32Weights(weights);
    this.lmHead = this.t.get(lmHeadName(weights))!;
    this.config = weights.config;
    this.blockSize = opts.blockSize;
    this.numBlocks = opts.numBlocks;
    const c = this.config;
    const poolSize = opts.numBlocks * c.numKvHeads * opts.blockSize * c.headDim;
    this.kPools = Array.from({ length: c.numLayers }, () => new Float32Array(poolSize));
    this.vPools = Array.from({ length: c.numLayers }, () => new Float32Array(poolSize));
    this.invFreq = ropeInvFreq(c);
  }

  /** Index of element 0 of (slot, kvHead) in a pool. */
  private offset(slot: number, kvHead: number): number {
    const bs = this.blockSize;
    const block = Math.floor(slot / bs);
    return ((block * this.config.numKvHeads + kvHead) * bs + (slot % bs)) * this.config.headDim;
  }

  async forward(batch: ForwardBatch): Promise<Float32Array[]> {
    return batch.chunks.map((chunk) => {
      const rows: Float32Array[] = [];
      const cacheStart = cacheStartOf(chunk);
      chunk.tokens.forEach((token, i) => {
        const wantLogits = batch.logits === 'all' || i === chunk.tokens.length - 1;
        const logits = this.token(token, chunk.startPos + i, cacheStart + i, chunk.blockTable, wantLogits);
        if (logits) rows.push(logits);
      });
      const out = new Float32Array(rows.length * this.config.vocabSize);
      rows.forEach((r, i) => out.set(r, i * this.config.vocabSize));
      return out;
    });
  }

  /**
   * Runs one token at position `pos` (RoPE) through every layer, writing its K and V into cache
   * entry `entry` of its table and attending to entries 0..entry (a table with gaps in position
   * under eviction).
   */
  private token(token: number, pos: number, entry: number, table: readonly number[], wantLogits: boolean): Float32Array | null {
    const c = this.config;
    const t = this.t;
    const hd = c.headDim;
    const qDim = c.numHeads * hd;
    const kvDim = c.numKvHeads * hd;
    const group = c.numHeads / c.numKvHeads;
    const x = t.get('model.embed_tokens.weight')!.slice(token * c.hiddenSize, (token + 1) * c.hiddenSize);
    const xb = new Float32Array(c.hiddenSize);
    const q = new Float32Array(qDim);
    const k = new Float32Array(kvDim);
    const v = new Float32Array(kvDim);
    const att = new Float32Array(qDim);
    const o = new Float32Array(c.hiddenSize);
    const gate = new Float32Array(c.intermediateSize);
    const up = new Float32Array(c.intermediateSize);
    const scores = new Float64Array(entry + 1);
    const slot = slotOf(table, entry, this.blockSize);
    const scale = 1 / Math.sqrt(hd);

    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}.`;
      rmsnorm(xb, x, t.get(p + 'input_layernorm.weight')!, c.rmsNormEps);
      matvec(q, t.get(p + 'self_attn.q_proj.weight')!, xb, qDim, c.hiddenSize, t.get(p + 'self_attn.q_proj.bias'));
      matvec(k, t.get(p + 'self_attn.k_proj.weight')!, xb, kvDim, c.hiddenSize, t.get(p + 'self_attn.k_proj.bias'));
      matvec(v, t.get(p + 'self_attn.v_proj.weight')!, xb, kvDim, c.hiddenSize, t.get(p + 'self_attn.v_proj.bias'));
      applyRope(q, c.numHeads, hd, pos, this.invFreq);
      applyRope(k, c.numKvHeads, hd, pos, this.invFreq);
      const kp = this.kPools[l];
      const vp = this.vPools[l];
      for (let h = 0; h < c.numKvHeads; h++) {
        kp.set(k.subarray(h * hd, (h + 1) * hd), this.offset(slot, h));
        vp.set(v.subarray(h * hd, (h + 1) * hd), this.offset(slot, h));
      }
      for (let h = 0; h < c.numHeads; h++) {
        const kvh = Math.floor(h / group);
        let max = -Infinity;
        for (let s = 0; s <= entry; s++) {
          const ko = this.offset(slotOf(table, s, this.blockSize), kvh);
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[h * hd + i] * kp[ko + i];
          scores[s] = d * scale;
          if (scores[s] > max) max = scores[s];
        }
        let sum = 0;
        for (let s = 0; s <= entry; s++) {
          scores[s] = Math.exp(scores[s] - max);
          sum += scores[s];
        }
        for (let i = 0; i < hd; i++) {
          let acc = 0;
          for (let s = 0; s <= entry; s++) acc += scores[s] * vp[this.offset(slotOf(table, s, this.blockSize), kvh) + i];
          att[h * hd + i] = acc / sum;
        }
      }
      matvec(o, t.get(p + 'self_attn.o_proj.weight')!, att, c.hiddenSize, qDim);
      for (let i = 0; i < c.hiddenSize; i++) x[i] += o[i];

      rmsnorm(xb, x, t.get(p + 'post_attention_layernorm.weight')!, c.rmsNormEps);
      matvec(gate, t.get(p + 'mlp.gate_proj.weight')!, xb, c.intermediateSize, c.hiddenSize);
      matvec(up, t.get(p + 'mlp.up_proj.weight')!, xb, c.intermediateSize, c.hiddenSize);
      for (let i = 0; i < c.intermediateSize; i++) gate[i] = silu(gate[i]) * up[i];
      matvec(o, t.get(p + 'mlp.down_proj.weight')!, gate, c.hiddenSize, c.intermediateSize);
      for (let i = 0; i < c.hiddenSize; i++) x[i] += o[i];
    }
    if (!wantLogits) return null;
    rmsnorm(xb, x, t.get('model.norm.weight')!, c.rmsNormEps);
    const logits = new Float32Array(c.vocabSize);
    matvec(logits, this.lmHead, xb, c.vocabSize, c.hiddenSize);
    return logits;
  }

  /** Refuses, as the GPU does, a plan that is not a set (src/kv/copyPlan.ts), though in order it could run one. */
  async copyBlocks(pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
    checkCopyPlan(pairs, this.numBlocks);
    const n = this.config.numKvHeads * this.blockSize * this.config.headDim;
    for (const pool of [...this.kPools, ...this.vPools]) {
      for (const [src, dst] of pairs) pool.copyWithin(dst * n, src * n, (src + 1) * n);
    }
  }

  /** Context shift: each key of a block rotated by its delta (src/kv/eviction/hostKv.ts). */
  async shiftKeys(shifts: readonly KeyShift[]): Promise<void> {
    const ids = shifts.map((x) => x.block);
    const data = await this.readBlocks(ids);
    shiftBlockData(data, shifts, this.invFreq, this.layout);
    await this.writeBlocks(ids, data);
  }

  /** PagedEviction's score of each block: the mean over layers, KV heads and tokens of ||V|| / ||K||. */
  async scoreBlocks(ids: readonly number[]): Promise<Float32Array> {
    return scoreBlockData(await this.readBlocks(ids), ids.length, this.layout);
  }

  private get layout(): BlockLayout {
    const c = this.config;
    return { layers: c.numLayers, kvHeads: c.numKvHeads, blockSize: this.blockSize, headDim: c.headDim };
  }

  /** Floats of one block in one pool. */
  private get blockFloats(): number {
    return this.config.numKvHeads * this.blockSize * this.config.headDim;
  }

  /** Copies at call time (no await before the copy), so later steps never leak into it. */
  readBlocks(ids: readonly number[]): Promise<Float32Array> {
    const n = this.blockFloats;
    const L = this.config.numLayers;
    const out = new Float32Array(ids.length * L * 2 * n);
    ids.forEach((b, i) => {
      checkBlock(b, this.numBlocks);
      for (let l = 0; l < L; l++) {
        const at = ((i * L + l) * 2) * n;
        out.set(this.kPools[l].subarray(b * n, (b + 1) * n), at);
        out.set(this.vPools[l].subarray(b * n, (b + 1) * n), at + n);
      }
    });
    return Promise.resolve(out);
  }

  writeBlocks(ids: readonly number[], data: Float32Array): Promise<void> {
    const n = this.blockFloats;
    const L = this.config.numLayers;
    if (data.length !== ids.length * L * 2 * n) return Promise.reject(new RangeError(`writeBlocks: ${data.length} floats for ${ids.length} blocks of ${L * 2 * n}`));
    ids.forEach((b, i) => {
      checkBlock(b, this.numBlocks);
      for (let l = 0; l < L; l++) {
        const at = ((i * L + l) * 2) * n;
        this.kPools[l].set(data.subarray(at, at + n), b * n);
        this.vPools[l].set(data.subarray(at + n, at + 2 * n), b * n);
      }
    });
    return Promise.resolve();
  }

  dispose(): void {}
}

function checkBlock(id: number, numBlocks: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= numBlocks) throw new RangeError(`block id ${id} is outside the cache (${numBlocks} blocks)`);
}
