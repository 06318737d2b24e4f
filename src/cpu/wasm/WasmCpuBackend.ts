import type { ForwardBackend } from '../../engine/ForwardBackend.ts';
import { ModelTooLargeError } from '../../errors.ts';
import { checkCopyPlan } from '../../kv/checkCopyPlan.ts';
import { cacheStartOf, type ForwardBatch, slotOf } from '../../kv/batch.ts';
import type { ModelConfig } from '../../model/config.ts';
import { lmHeadName, type ModelWeights } from '../../model/weights.ts';
import { ropeInvFreq } from '../rope.ts';
import { compileKernels, instantiateKernels, type KernelExports, matmulOf, MAX_PAGES, PAGE, relaxedSimdAvailable, type SimdKind } from './kernels.ts';
import { type Layout, planLayout, type Regions } from './layout.ts';
import { ThreadPool } from './threads/ThreadPool.ts';
import { wantedThreads } from './threads/wantedThreads.ts';
import type { PlacedTensor } from './placeWeights.ts';
import { placeRowQuads, unitAt, unitCols } from './rowQuads.ts';


export interface WasmCpuBackendOptions {
  blockSize: number;
  numBlocks: number;
  /** Token rows run through the layers together; a step with more runs in groups of this many. */
  rowsPerGroup?: number;
  /**
   * Threads for the matmuls (this one and threads - 1 workers over a shared memory). Default: in a
   * cross-origin isolated page, navigator.hardwareConcurrency up to 8; elsewhere (and in Node) 1.
   */
  threads?: number;
  /**
   * Weights in a matmul below which it runs on this thread alone: a worker's wake-up costs
   * microseconds (milliseconds on a loaded machine), more than a small matmul. Default 2^17
   * (stories260K's are all below, SmolLM2-135M's all above).
   */
  minSplitWeights?: number;
  /**
   * 'relaxed': the matmuls multiply-add with relaxed SIMD (refused where the engine lacks it);
   * 'plain': 128-bit SIMD only. Default: relaxed where WebAssembly.validate accepts it.
   */
  simd?: SimdKind;
}

/** Why the WebAssembly kernels cannot run this model (their shape assumptions), or null when they can. */
export function wasmUnsupportedReason(c: ModelConfig): string | null {
  if (c.headDim % 4 !== 0) return `head dimension ${c.headDim} is not a multiple of 4`;
  if (c.hiddenSize % 4 !== 0 || c.intermediateSize % 4 !== 0) return `hidden ${c.hiddenSize} / intermediate ${c.intermediateSize} sizes are not multiples of 4`;
  return null;
}


/**
 * The CPU forward pass on WebAssembly SIMD kernels (wat/), one memory holding weights (packed formats
 * as they are), the paged KV cache in CpuBackend's layout, RoPE tables and scratch, all laid out once
 * at creation: a step allocates nothing in the memory and no typed arrays but its returned logits.
 * A step's token rows (every chunk's, decode and prefill alike) go through each layer together, so a
 * matmul reads each weight once for all of them; attention then runs per row over its own block table.
 */
export class WasmCpuBackend implements ForwardBackend {
  readonly name = 'cpu' as const;
  readonly config: ModelConfig;
  readonly blockSize: number;
  readonly numBlocks: number;
  /** Which kernels each weight runs on, e.g. ['q8_0', 'f32'] (names of wat/matmul.ts formats). */
  readonly formats: ReadonlySet<string>;
  private readonly k: KernelExports;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly w: Map<string, PlacedTensor>;
  private readonly R: number;
  private readonly a: Regions;
  private readonly lmHead: PlacedTensor;
  private readonly embedding: PlacedTensor;
  private readonly finalNorm: number;
  /** Each layer's tensors, looked up once here, not by name on every step. */
  private readonly layers: LayerTensors[];
  private readonly kPools: number[];
  private readonly vPools: number[];
  private readonly ropePositions: number;
  private readonly tableCap: number;
  private readonly matmulScratch: number;
  private readonly invFreq: Float64Array;
  /** Per row of a group: chunk, position, key count, whether it wants logits. Reused each step. */
  private readonly rowPos: Int32Array;
  private readonly rowKeys: Int32Array;
  private readonly rowChunk: Int32Array;
  private readonly pool: ThreadPool | null;
  private readonly minSplit: number;
  /**
   * Bytes the weights take in the kernels' memory: packed formats as packed, others widened to f32
   * (stats().weights.deviceBytes on this path).
   */
  readonly weightBytes: number;
  /** "1 thread", "4 threads", or "1 thread: why not more", for info.adapter. */
  readonly threadsDescription: string;
  /** Whether the matmuls run relaxed SIMD's multiply-add or plain SIMD's multiply and add. */
  readonly simd: SimdKind;
  private readonly wantLogits: Uint8Array;
  private readonly logitRows: Int32Array;

  private constructor(weights: ModelWeights, opts: WasmCpuBackendOptions, k: KernelExports, memory: WebAssembly.Memory, layout: Layout, pool: ThreadPool | null, threadsDescription: string, simd: SimdKind) {
    this.pool = pool;
    this.simd = simd;
    this.minSplit = opts.minSplitWeights ?? 2 ** 17;
    this.threadsDescription = threadsDescription;
    this.config = weights.config;
    this.blockSize = opts.blockSize;
    this.numBlocks = opts.numBlocks;
    this.k = k;
    this.f32 = new Float32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.w = layout.tensors;
    this.weightBytes = [...layout.tensors.values()].reduce((n, t) => n + t.rows * t.rowBytes, 0);
    this.formats = layout.formats;
    this.R = layout.R;
    this.a = layout.a;
    this.matmulScratch = layout.matmulScratch;
    this.kPools = layout.kPools;
    this.vPools = layout.vPools;
    this.ropePositions = layout.ropePositions;
    this.tableCap = layout.tableCap;
    this.invFreq = ropeInvFreq(this.config);
    this.rowPos = new Int32Array(this.R);
    this.rowKeys = new Int32Array(this.R);
    this.rowChunk = new Int32Array(this.R);
    this.wantLogits = new Uint8Array(this.R);
    this.logitRows = new Int32Array(this.R);
    this.lmHead = this.w.get(lmHeadName(weights))!;
    this.embedding = this.w.get('model.embed_tokens.weight')!;
    this.finalNorm = this.w.get('model.norm.weight')!.at;
    this.layers = Array.from({ length: this.config.numLayers }, (_, l) => layerTensors(this.w, l));
    this.fillRopeTables();
  }

  static async create(weights: ModelWeights, opts: WasmCpuBackendOptions): Promise<WasmCpuBackend> {
    const why = wasmUnsupportedReason(weights.config);
    if (why) throw new RangeError(`the WebAssembly kernels cannot run this model: ${why}`);
    const threads = wantedThreads(opts.threads);
    const layout = planLayout(weights, { ...opts, threads: threads.count });
    const pages = Math.ceil(layout.bytes / PAGE);
    if (pages > MAX_PAGES) throw new ModelTooLargeError('the model and its KV cache in WebAssembly memory', layout.bytes, MAX_PAGES * PAGE, "wasm32's memory limit");
    const simd = opts.simd ?? (relaxedSimdAvailable() ? 'relaxed' : 'plain');
    if (simd !== 'plain' && simd !== 'relaxed') throw new RangeError(`simd must be 'plain' or 'relaxed', got ${JSON.stringify(simd)}`);
    if (simd === 'relaxed' && !relaxedSimdAvailable()) throw new RangeError("simd: 'relaxed' was asked for, but this JavaScript engine does not validate relaxed SIMD");
    const shared = threads.count > 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
    layout.fill(memory);
    const k = await instantiateKernels(memory, layout.f16tab, shared, simd);
    for (const t of layout.tensors.values()) placeRowQuads(k, t, layout.quadScratch);
    let pool: ThreadPool | null = null;
    let description = threads.why ? `1 thread: ${threads.why}` : '1 thread';
    if (shared) {
      try {
        pool = await ThreadPool.start(threads.count, await compileKernels(true, simd), memory, layout);
        description = `${threads.count} threads`;
      } catch (e) {
        description = `1 thread: the matmul workers did not start (${e instanceof Error ? e.message : String(e)})`;
      }
    }
    return new WasmCpuBackend(weights, opts, k, memory, layout, pool, description, simd);
  }

  /** cos and sin of every position the cache can hold, computed as rope.ts computes them (f64). */
  private fillRopeTables(): void {
    const half = this.config.headDim / 2;
    for (let p = 0; p < this.ropePositions; p++) this.ropeRow(p, this.a.cos + p * half * 8, this.a.sin + p * half * 8);
  }

  private ropeRow(pos: number, cosAt: number, sinAt: number): void {
    const half = this.config.headDim / 2;
    for (let i = 0; i < half; i++) {
      const a = pos * this.invFreq[i];
      this.f64[cosAt / 8 + i] = Math.cos(a);
      this.f64[sinAt / 8 + i] = Math.sin(a);
    }
  }

  private matmul(t: PlacedTensor, x: number, y: number, n: number): void {
    const kernel = matmulOf(this.k, t.format);
    const scratch = this.matmulScratch; // this thread's: the pool's first
    if (this.pool && t.rows * t.cols >= this.minSplit) this.pool.matmul((r0, r1) => kernel(t.at, t.rowBytes, x, y, t.rows, t.cols, n, r0, r1, scratch), t.format, t.at, t.rowBytes, x, y, t.rows, t.cols, n);
    else kernel(t.at, t.rowBytes, x, y, t.rows, t.cols, n, 0, t.rows, scratch);
  }

  async forward(batch: ForwardBatch): Promise<Float32Array[]> {
    const c = this.config;
    const V = c.vocabSize;
    const out = batch.chunks.map((ch) => new Float32Array((batch.logits === 'all' ? ch.tokens.length : 1) * V));
    const written = new Int32Array(batch.chunks.length);
    // Rows in chunk order, cut into groups of R; within a chunk positions ascend, so a group's K and V
    // are written before any later group reads them.
    let n = 0;
    const flush = (): void => {
      const wanted = this.runGroup(n, batch);
      for (let j = 0; j < wanted; j++) {
        const ci = this.rowChunk[this.logitRows[j]];
        out[ci].set(this.f32.subarray(this.a.logits / 4 + j * V, this.a.logits / 4 + (j + 1) * V), written[ci] * V);
        written[ci]++;
      }
      n = 0;
    };
    // Refused before any row runs, so that a bad chunk leaves the cache as it was.
    for (const ch of batch.chunks) {
      if (ch.blockTable.length > this.tableCap) throw new RangeError(`a block table of ${ch.blockTable.length} blocks is longer than the cache (${this.tableCap})`);
      for (const token of ch.tokens) if (!Number.isInteger(token) || token < 0 || token >= V) throw new RangeError(`token id ${token} is outside the vocabulary (${V})`);
      // The kernels address the pools by these ids unchecked: one out of range would write over other memory.
      for (const b of ch.blockTable) checkBlock(b, this.numBlocks);
      const entries = cacheStartOf(ch) + ch.tokens.length;
      if (entries > ch.blockTable.length * this.blockSize) throw new RangeError(`cache entry ${entries - 1} is past the block table (${ch.blockTable.length} blocks)`);
    }
    batch.chunks.forEach((ch, ci) => {
      const cacheStart = cacheStartOf(ch);
      ch.tokens.forEach((token, i) => {
        const pos = ch.startPos + i;
        this.rowChunk[n] = ci;
        this.rowPos[n] = pos;
        this.rowKeys[n] = cacheStart + i + 1; // entries 0..cacheStart + i: fewer than pos + 1 once blocks are evicted
        this.embed(token, this.a.x + n * c.hiddenSize * 4);
        this.wantLogits[n] = batch.logits === 'all' || i === ch.tokens.length - 1 ? 1 : 0;
        n++;
        if (n === this.R) flush();
      });
    });
    if (n > 0) flush();
    return out;
  }

  /** Row `token` of the embedding, unit by unit: the table is in the matmul's quad layout (it may be the tied head). */
  private embed(token: number, dst: number): void {
    const e = this.embedding;
    const cols = unitCols(e.format);
    for (let u = 0; u < e.cols / cols; u++) {
      const src = unitAt(e, token, u);
      if (e.format === 'f32') this.f32.copyWithin(dst / 4 + u * cols, src / 4, src / 4 + cols);
      else this.k[`dequant_${e.format}`](src, dst + u * cols * 4, cols);
    }
  }

  /** Byte offsets of row r's RoPE cos and sin: the table's row for its position, or its own row past the table. */
  private cosOf(r: number): number {
    const half = this.config.headDim / 2;
    return this.rowPos[r] < this.ropePositions ? this.a.cos + this.rowPos[r] * half * 8 : this.a.ropeRows + r * half * 16;
  }

  private sinOf(r: number): number {
    const half = this.config.headDim / 2;
    return this.rowPos[r] < this.ropePositions ? this.a.sin + this.rowPos[r] * half * 8 : this.a.ropeRows + r * half * 16 + half * 8;
  }

  /** Runs rows 0..n-1 of the group through every layer; returns how many rows' logits it computed (their rows in logitRows). */
  private runGroup(n: number, batch: ForwardBatch): number {
    const c = this.config;
    const { k, a } = this;
    const H = c.hiddenSize;
    const hd = c.headDim;
    const qDim = c.numHeads * hd;
    const kvDim = c.numKvHeads * hd;
    const half = hd / 2;
    // Block tables and RoPE rows of this group, written once for all layers.
    for (let r = 0; r < n; r++) {
      const table = batch.chunks[this.rowChunk[r]].blockTable;
      const at = a.tables / 4 + r * this.tableCap;
      for (let b = 0; b < table.length; b++) this.i32[at + b] = table[b];
      const pos = this.rowPos[r];
      if (pos >= this.ropePositions) this.ropeRow(pos, a.ropeRows + r * half * 16, a.ropeRows + r * half * 16 + half * 8);
    }
    const scale = 1 / Math.sqrt(hd);
    const poolHead = this.blockSize * hd;
    for (let l = 0; l < c.numLayers; l++) {
      const t = this.layers[l];
      for (let r = 0; r < n; r++) k.rmsnorm(a.x + r * H * 4, t.norm1, a.xb + r * H * 4, H, c.rmsNormEps);
      this.matmul(t.q, a.xb, a.q, n);
      this.matmul(t.k, a.xb, a.k, n);
      this.matmul(t.v, a.xb, a.v, n);
      if (t.bias) {
        for (let r = 0; r < n; r++) {
          k.add(a.q + r * qDim * 4, t.bias.q, qDim);
          k.add(a.k + r * kvDim * 4, t.bias.k, kvDim);
          k.add(a.v + r * kvDim * 4, t.bias.v, kvDim);
        }
      }
      const kp = this.kPools[l] / 4;
      const vp = this.vPools[l] / 4;
      for (let r = 0; r < n; r++) {
        k.rope(a.q + r * qDim * 4, c.numHeads, hd, this.cosOf(r), this.sinOf(r));
        k.rope(a.k + r * kvDim * 4, c.numKvHeads, hd, this.cosOf(r), this.sinOf(r));
        const table = batch.chunks[this.rowChunk[r]].blockTable;
        const slot = slotOf(table, this.rowKeys[r] - 1, this.blockSize);
        const at = (Math.floor(slot / this.blockSize) * c.numKvHeads * this.blockSize + (slot % this.blockSize)) * hd;
        for (let h = 0; h < c.numKvHeads; h++) {
          const src = (r * kvDim + h * hd);
          this.f32.copyWithin(kp + at + h * poolHead, a.k / 4 + src, a.k / 4 + src + hd);
          this.f32.copyWithin(vp + at + h * poolHead, a.v / 4 + src, a.v / 4 + src + hd);
        }
      }
      for (let r = 0; r < n; r++) {
        k.attention(a.q + r * qDim * 4, a.att + r * qDim * 4, this.kPools[l], this.vPools[l], a.tables + r * this.tableCap * 4, this.rowKeys[r], this.blockSize, c.numKvHeads, hd, c.numHeads, a.scores, scale);
      }
      this.matmul(t.o, a.att, a.o, n);
      k.add(a.x, a.o, n * H);
      for (let r = 0; r < n; r++) k.rmsnorm(a.x + r * H * 4, t.norm2, a.xb + r * H * 4, H, c.rmsNormEps);
      this.matmul(t.gate, a.xb, a.gate, n);
      this.matmul(t.up, a.xb, a.up, n);
      k.swiglu(a.gate, a.up, n * c.intermediateSize);
      this.matmul(t.down, a.gate, a.o, n);
      k.add(a.x, a.o, n * H);
    }
    let wanted = 0;
    const normF = this.finalNorm;
    for (let r = 0; r < n; r++) {
      if (!this.wantLogits[r]) continue;
      k.rmsnorm(a.x + r * H * 4, normF, a.xb + wanted * H * 4, H, c.rmsNormEps);
      this.logitRows[wanted++] = r;
    }
    if (wanted > 0) this.matmul(this.lmHead, a.xb, a.logits, wanted);
    return wanted;
  }

  /** Refuses, as the GPU does, a plan that is not a set (src/kv/copyPlan.ts). */
  async copyBlocks(pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
    checkCopyPlan(pairs, this.numBlocks);
    const n = this.blockFloats;
    for (const pool of [...this.kPools, ...this.vPools]) {
      for (const [src, dst] of pairs) this.f32.copyWithin(pool / 4 + dst * n, pool / 4 + src * n, pool / 4 + (src + 1) * n);
    }
  }

  private get blockFloats(): number {
    return this.config.numKvHeads * this.blockSize * this.config.headDim;
  }

  /** Copies at call time (an async body runs to its first await at once), in CpuBackend's layout: per block, per layer, K then V. */
  async readBlocks(ids: readonly number[]): Promise<Float32Array> {
    const n = this.blockFloats;
    const L = this.config.numLayers;
    const out = new Float32Array(ids.length * L * 2 * n);
    ids.forEach((b, i) => {
      checkBlock(b, this.numBlocks);
      for (let l = 0; l < L; l++) {
        const at = (i * L + l) * 2 * n;
        out.set(this.f32.subarray(this.kPools[l] / 4 + b * n, this.kPools[l] / 4 + (b + 1) * n), at);
        out.set(this.f32.subarray(this.vPools[l] / 4 + b * n, this.vPools[l] / 4 + (b + 1) * n), at + n);
      }
    });
    return out;
  }

  async writeBlocks(ids: readonly number[], data: Float32Array): Promise<void> {
    const n = this.blockFloats;
    const L = this.config.numLayers;
    if (data.length !== ids.length * L * 2 * n) throw new RangeError(`writeBlocks: ${data.length} floats for ${ids.length} blocks of ${L * 2 * n}`);
    ids.forEach((b, i) => {
      checkBlock(b, this.numBlocks);
      for (let l = 0; l < L; l++) {
        const at = (i * L + l) * 2 * n;
        this.f32.set(data.subarray(at, at + n), this.kPools[l] / 4 + b * n);
        this.f32.set(data.subarray(at + n, at + 2 * n), this.vPools[l] / 4 + b * n);
      }
    });
  }

  dispose(): void {
    this.pool?.dispose();
  }
}


function checkBlock(id: number, numBlocks: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= numBlocks) throw new RangeError(`block id ${id} is outside the cache (${numBlocks} blocks)`);
}

interface LayerTensors {
  norm1: number;
  norm2: number;
  q: PlacedTensor;
  k: PlacedTensor;
  v: PlacedTensor;
  o: PlacedTensor;
  gate: PlacedTensor;
  up: PlacedTensor;
  down: PlacedTensor;
  /** Byte offsets of the q, k, v biases (Qwen2); null without. */
  bias: { q: number; k: number; v: number } | null;
}

function layerTensors(w: Map<string, PlacedTensor>, l: number): LayerTensors {
  const get = (name: string): PlacedTensor => {
    const t = w.get(`model.layers.${l}.${name}`);
    if (!t) throw new RangeError(`model.layers.${l}.${name} is missing`);
    return t;
  };
  const hasBias = w.has(`model.layers.${l}.self_attn.q_proj.bias`);
  return {
    norm1: get('input_layernorm.weight').at,
    norm2: get('post_attention_layernorm.weight').at,
    q: get('self_attn.q_proj.weight'),
    k: get('self_attn.k_proj.weight'),
    v: get('self_attn.v_proj.weight'),
    o: get('self_attn.o_proj.weight'),
    gate: get('mlp.gate_proj.weight'),
    up: get('mlp.up_proj.weight'),
    down: get('mlp.down_proj.weight'),
    bias: hasBias ? { q: get('self_attn.q_proj.bias').at, k: get('self_attn.k_proj.bias').at, v: get('self_attn.v_proj.bias').at } : null,
  };
}
