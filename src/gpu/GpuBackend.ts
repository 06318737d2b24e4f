/**
 * The forward pass on WebGPU.
 *
 * Design of the kernels (wgsl/, one per file): a step is one compute pass in one command
 * buffer. The batch is flattened into query rows, chunk after chunk; each row carries its
 * position, its cache slot and the offset of its sequence's block table, so one set of
 * dispatches serves decode tokens and prefill chunks of any length together. Per layer:
 * rmsnorm; one matmul for q|k|v (stacked weights, optional bias); RoPE from a cos/sin table
 * the host computes in f64 (llama3 scaling exact, no loss at large positions); kv_write into
 * the paged pools through the slot mapping; paged attention (one invocation per row and query
 * head, online softmax, GQA, reading K/V only through the block table, causal by position);
 * o_proj with the residual add fused (the matmul accumulates into the residual stream);
 * rmsnorm; one matmul for gate|up; silu*up; down with the residual fused. Then only the rows
 * whose logits are wanted are gathered, normed and multiplied by the LM head, and the token
 * is chosen on the GPU (wgsl/sample.wgsl, the definition of src/sampling/sample.ts: argmax at
 * temperature 0, else temperature, top-k, top-p and one host-drawn uniform per row), so that
 * such a step reads back one u32 per sequence. The matmul is
 * a barrier-free 4x4 register tile per invocation, the same kernel for prefill (M = tokens)
 * and decode (M = sequences), where it is a batched matrix-vector product that reads each
 * weight once. Workgroup memory and barriers appear only in the row reductions (rmsnorm,
 * sample), and there only on real GPUs: on CPU adapters (SwiftShader), where a barrier costs
 * tens of microseconds, those kernels run one invocation per row (the ROW_LANES override).
 * Weights stay in their format on the device: f32 ones (safetensors) take that f32 matmul; packed
 * ones (GGUF: the file's bytes) are decoded in registers by the packed products, a coalesced GEMV
 * for steps of up to 8 rows and a tiled GEMM beyond, and by the embedding lookup; the tied LM head
 * reads the packed embedding (src/gpu/linearSteps.ts). Activations and accumulation are f32;
 * no shader-f16. Each layer's K and V pools are one buffer each; a pool
 * larger than one storage binding is refused (explicit block count) or capped (budget).
 */
import { ConfigError, InvalidParamsError } from '../errors.ts';
import type { DeviceSampleRow, ForwardBackend } from '../engine/ForwardBackend.ts';
import type { ForwardBatch } from '../kv/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { ropeInvFreq } from '../cpu/rope.ts';
import { buildForwardGroups, type ForwardGroups, type StepUniforms } from './bindGroups.ts';
import { type BlockPairs, copyBlocksOnGpu } from './blockCopy.ts';
import { checkCopyPlan } from '../kv/checkCopyPlan.ts';
import { readBlocksFromGpu, writeBlocksToGpu } from './blockIo.ts';
import { GpuDevice } from './device.ts';
import { scoped } from './errorScopes.ts';
import { encodeForward, type ForwardTail } from './forwardPass.ts';
import { bindingLimit, GpuWeights } from './gpuWeights.ts';
import { chooseKernelSet, describeKernelSet, type KernelSet, type KernelsOption } from './kernelSet.ts';
import { FlashAttention } from './attention.ts';
import { createKernels, kernelShape, type KernelShape, type Kernels } from './kernels.ts';
import { LinearKernels } from './linearSteps.ts';
import { LogitAdjuster, packAdjustWork } from './logitAdjust.ts';
import { planKvCache } from '../kv/KvPlan.ts';
import { KvPools } from './kvPools.ts';
import { KvMaintenance } from './kvMaintenance.ts';
import type { KeyShift } from '../kv/BlockTable.ts';
import { StepBuffers, type StepCapacity } from './stepBuffers.ts';
import { packStep, type StepInputs } from './stepInputs.ts';

export interface GpuBackendOptions {
  blockSize: number;
  /** An explicit block count; wins over memoryBudgetBytes. */
  numBlocks?: number;
  /** Bytes for all K and V pools together; the block count is what fits (see planKvCache). */
  memoryBudgetBytes?: number;
  /** navigator.gpu by default; tests pass Dawn's GPU object. */
  gpu?: GPU;
  /** 'auto' (default): 'fallback' on CPU adapters, else 'gpu' (src/gpu/kernelSet.ts). */
  kernels?: KernelsOption;
  /**
   * The 'gpu' set's shared-prefix attention: blocks that several decoding sequences share are
   * read once per step for all of them (default true; the 'fallback' set has none and refuses true).
   */
  sharedPrefix?: boolean;
  /**
   * Plan the weights and KV pools as if the adapter offered at most these sizes (tests and the bench
   * force splitting with them, or act like WebGPU's defaults, 128 MiB / 256 MiB); never raises them.
   */
  clampLimits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
  /**
   * Run the 'gpu' set in the shapes it takes on a GPU adapter (fused norms, wide GEMV, tiled
   * GEMM, GPU attention layout) even on a CPU adapter, where it otherwise picks barrier-free
   * shapes: tests use it so that SwiftShader checks the code real GPUs run. Slow there.
   */
  gpuShapes?: boolean;
}

/** The matmul and attention kernels walk rows in vec4 steps. */
function checkShapes(c: ModelConfig): void {
  const need: Array<[string, number]> = [
    ['hidden_size', c.hiddenSize],
    ['intermediate_size', c.intermediateSize],
    ['head_dim', c.headDim],
  ];
  for (const [field, v] of need) {
    if (v % 4 !== 0) throw new ConfigError('config.json', `the WebGPU kernels need a multiple of 4 here, got ${v}`, field);
  }
}

export class GpuBackend implements ForwardBackend {
  readonly name = 'webgpu' as const;
  readonly config: ModelConfig;
  readonly blockSize: number;
  readonly numBlocks: number;
  /** The device, for callers that watch limits or losses. */
  readonly gpu: GpuDevice;
  readonly kernelSet: KernelSet;
  /** Which set runs and why ("gpu kernels (auto: a GPU adapter)"), for `info`. */
  readonly kernelsDescription: string;
  private readonly shape: KernelShape;
  private readonly kernels: Kernels;
  private readonly linear: LinearKernels;
  private readonly weights: GpuWeights;
  private readonly pools: KvPools;
  /** Context shift and PagedEviction scores (src/gpu/kvMaintenance.ts). */
  private readonly maintenance: KvMaintenance;
  /** The 'gpu' set's attention (null: the fallback kernels); `flash.last` is the step's plan. */
  readonly flash: FlashAttention | null;
  private readonly uniforms: StepUniforms;
  private readonly invFreq: Float64Array;
  private buffers: StepBuffers | null = null;
  /** Penalties, biases and masks on the device; built by the first step that has any. */
  private adjuster: LogitAdjuster | null = null;
  private groups: ForwardGroups | null = null;
  /** Steps run one at a time: they share the step buffers and read-back buffers. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(gpu: GpuDevice, weights: ModelWeights, opts: GpuBackendOptions) {
    const c = weights.config;
    this.gpu = gpu;
    this.config = c;
    this.kernelSet = chooseKernelSet(opts.kernels ?? 'auto', gpu.cpuAdapter);
    this.kernelsDescription = describeKernelSet(opts.kernels ?? 'auto', gpu.cpuAdapter);
    const fallback = this.kernelSet === 'fallback';
    if (fallback && opts.sharedPrefix === true) throw new InvalidParamsError('sharedPrefix', 'needs the gpu kernel set (kernels: "gpu")');
    const sizes = { blockSize: opts.blockSize, maxBlocks: opts.numBlocks, memoryBudgetBytes: opts.memoryBudgetBytes };
    const binding = bindingLimit(gpu.limits, opts.clampLimits);
    // Weights first: a model too large for the adapter is named as such before the KV cache is planned.
    this.weights = new GpuWeights(gpu, weights, binding);
    const plan = planKvCache(c, sizes, binding.bytes);
    this.blockSize = opts.blockSize;
    this.numBlocks = plan.numBlocks;
    // One lane per row in the row reductions on CPU adapters whichever set runs (barriers are dear there).
    const cpuShapes = gpu.cpuAdapter && opts.gpuShapes !== true;
    this.shape = kernelShape(c, opts.blockSize, fallback || cpuShapes ? 1 : 64);
    this.invFreq = ropeInvFreq(c);
    const embed = this.weights.embed;
    this.kernels = createKernels(gpu.device, this.shape, embed.kind === 'packed' ? embed.format : null, this.kernelSet);
    this.linear = new LinearKernels(gpu.device, gpu.limits.maxComputeWorkgroupsPerDimension, this.kernelSet, undefined, cpuShapes);
    this.pools = new KvPools(gpu, c, plan);
    this.maintenance = new KvMaintenance(gpu, this.pools, this.shape, this.invFreq, this.numBlocks);
    this.flash = fallback ? null : new FlashAttention(gpu, this.shape, this.pools, { sharedPrefix: opts.sharedPrefix ?? true, cpuShapes });
    this.uniforms = { rows: gpu.uniform('rows'), logitRows: gpu.uniform('logit rows'), shortRows: gpu.uniform('short rows'), longRows: gpu.uniform('long rows') };
  }

  /** Bytes the weights take on the device: packed ones at their packed size. */
  get weightBytes(): number {
    return this.weights.bytes;
  }

  /** Each weight buffer's size (none passes the binding limit), and the weight bytes a decode step reads. */
  get weightLayout(): { buffers: number[]; bytesPerToken: number } {
    return { buffers: this.weights.bufferSizes, bytesPerToken: this.weights.bytesPerToken };
  }

  /** Uploads the weights once and allocates the KV pools. */
  static async create(weights: ModelWeights, opts: GpuBackendOptions): Promise<GpuBackend> {
    checkShapes(weights.config);
    const gpu = await GpuDevice.request(opts.gpu);
    let backend: GpuBackend | null = null;
    try {
      await gpu.allocating("the model's weights, KV cache and step buffers", () => {
        backend = new GpuBackend(gpu, weights, opts);
      });
    } catch (e) {
      gpu.destroy();
      throw e;
    }
    return backend!;
  }

  forward(batch: ForwardBatch): Promise<Float32Array[]> {
    return this.serial(async () => {
      const step = this.prepare(batch, batch.logits);
      if (!step) return [];
      const bytes = step.logitRows.length * this.config.vocabSize * 4;
      const b = this.buffers!;
      const data = await this.submit(step, 'logits', b.logits, b.logitsRead, bytes);
      const all = new Float32Array(data);
      const out: Float32Array[] = [];
      let row = 0;
      for (const n of step.logitCounts) {
        out.push(all.slice(row * this.config.vocabSize, (row + n) * this.config.vocabSize));
        row += n;
      }
      return out;
    });
  }

  /**
   * One greedy step: the argmax of each chunk's last logits, computed on the GPU (the sample
   * kernel at temperature 0), so only one id per chunk is read back.
   */
  forwardGreedy(batch: ForwardBatch): Promise<number[]> {
    return this.forwardSample(batch, batch.chunks.map(() => ({ temperature: 0, topK: 0, topP: 1, u: 0 })));
  }

  /**
   * One sampled step: each chunk's last logits are sampled on the GPU with that chunk's row
   * of `rows` (temperature 0: argmax), so only one id per chunk is read back.
   */
  forwardSample(batch: ForwardBatch, rows: readonly DeviceSampleRow[]): Promise<number[]> {
    return this.serial(async () => {
      if (rows.length !== batch.chunks.length) throw new RangeError(`forwardSample needs one row per chunk: ${rows.length} rows for ${batch.chunks.length} chunks`);
      const params = new ArrayBuffer(rows.length * 16);
      const f = new Float32Array(params);
      const u = new Uint32Array(params);
      rows.forEach((r, i) => {
        if (!(r.temperature >= 0) || !(r.topP > 0 && r.topP <= 1) || !(r.u >= 0 && r.u < 1) || !Number.isInteger(r.topK) || r.topK < 0) {
          throw new RangeError(`bad sampling row ${i}: ${JSON.stringify(r)}`);
        }
        f[i * 4] = r.temperature;
        u[i * 4 + 1] = Math.min(r.topK, 0xffffffff);
        f[i * 4 + 2] = r.topP;
        // f32 rounding may carry u up to 1: keep it below.
        f[i * 4 + 3] = Math.min(r.u, 0.99999994);
      });
      const step = this.prepare(batch, 'last');
      if (!step) return [];
      const b = this.buffers!;
      if (rows.length > 0) this.gpu.device.queue.writeBuffer(b.sampleParams, 0, params);
      const adjust = packAdjustWork(rows, this.config.vocabSize);
      const before = adjust ? (this.adjuster ??= new LogitAdjuster(this.gpu, this.config.vocabSize)).prepare(b.logits, adjust) : undefined;
      const data = await this.submit(step, 'sample', b.ids, b.idsRead, step.logitRows.length * 4, before);
      return Array.from(new Uint32Array(data));
    });
  }

  copyBlocks(pairs: BlockPairs): Promise<void> {
    return this.serial(async () => {
      this.gpu.assertAlive();
      checkCopyPlan(pairs, this.numBlocks);
      if (pairs.length === 0) return;
      const blockElems = this.shape.numKvHeads * this.blockSize * this.shape.headDim;
      await copyBlocksOnGpu(this.gpu, this.kernels.copyBlocks, this.pools.all(), pairs, blockElems);
      this.gpu.assertAlive();
    });
  }

  /** Context shift: rotates the listed blocks' keys by their deltas (wgsl/k_shift.wgsl). */
  shiftKeys(shifts: readonly KeyShift[]): Promise<void> {
    return this.serial(async () => {
      this.gpu.assertAlive();
      await this.maintenance.shift(shifts);
      this.gpu.assertAlive();
    });
  }

  /** PagedEviction's block scores, computed on the device (wgsl/block_scores.wgsl). */
  scoreBlocks(ids: readonly number[]): Promise<Float32Array> {
    return this.serial(async () => {
      this.gpu.assertAlive();
      return this.maintenance.scores(ids);
    });
  }

  /** Reads whole blocks back (per block, per layer, K then V), after every step already queued. */
  readBlocks(ids: readonly number[]): Promise<Float32Array> {
    return this.serial(async () => {
      this.gpu.assertAlive();
      return readBlocksFromGpu(this.gpu, this.pools, ids, this.blockBytes(), this.numBlocks);
    });
  }

  /** Writes whole blocks in readBlocks' layout. */
  writeBlocks(ids: readonly number[], data: Float32Array): Promise<void> {
    return this.serial(async () => {
      this.gpu.assertAlive();
      writeBlocksToGpu(this.gpu, this.pools, ids, data, this.blockBytes(), this.numBlocks);
      await this.gpu.device.queue.onSubmittedWorkDone();
      this.gpu.assertAlive();
    });
  }

  private blockBytes(): number {
    return this.shape.numKvHeads * this.blockSize * this.shape.headDim * 4;
  }

  dispose(): void {
    this.buffers?.destroy();
    this.adjuster?.destroy();
    this.flash?.destroy();
    this.pools.destroy();
    this.weights.destroy();
    this.gpu.destroy();
  }

  /** Runs `fn` after the calls before it; a failure caused by a lost device rejects with DeviceLostError. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = () => fn().catch((e: unknown) => this.gpu.failure(e));
    const run = this.tail.then(guarded, guarded);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Packs and uploads a step; null for an empty batch. */
  private prepare(batch: ForwardBatch, logits: 'last' | 'all'): StepInputs | null {
    this.gpu.assertAlive();
    const step = packStep(batch, this.config, this, this.invFreq, logits);
    if (step.rows === 0) return null;
    const need: StepCapacity = { rows: step.rows, tableLen: step.tables.length, logitRows: step.logitRows.length };
    if (!this.buffers || !this.buffers.fits(need)) {
      this.buffers?.destroy();
      this.buffers = new StepBuffers(this.gpu, this.config, need);
      this.groups = buildForwardGroups(this.gpu.device, this.kernels, this.linear, this.weights, this.pools, this.buffers, this.uniforms, this.flash);
    }
    this.flash?.prepare(step, this.buffers);
    const q = this.gpu.device.queue;
    const b = this.buffers;
    q.writeBuffer(b.tokens, 0, step.tokens);
    q.writeBuffer(b.rowMeta, 0, step.rowMeta);
    q.writeBuffer(b.rope, 0, step.rope);
    q.writeBuffer(b.tables, 0, step.tables);
    q.writeBuffer(b.logitRows, 0, step.logitRows);
    q.writeBuffer(this.uniforms.rows, 0, Uint32Array.of(step.rows));
    q.writeBuffer(this.uniforms.logitRows, 0, Uint32Array.of(step.logitRows.length));
    q.writeBuffer(this.uniforms.shortRows, 0, Uint32Array.of(step.shortRows, 0));
    q.writeBuffer(this.uniforms.longRows, 0, Uint32Array.of(step.rows - step.shortRows, step.shortRows));
    return step;
  }

  /** Encodes the forward pass, copies `bytes` of `result` back, and returns them. */
  private async submit(step: StepInputs, tail: ForwardTail, result: GPUBuffer, readBack: GPUBuffer, bytes: number, beforeSample?: (pass: GPUComputePassEncoder) => void): Promise<ArrayBuffer> {
    const device = this.gpu.device;
    const errors = scoped(device, () => {
      const encoder = device.createCommandEncoder({ label: 'forward' });
      const pass = encoder.beginComputePass({ label: 'forward' });
      const shape = { rows: step.rows, logitRows: step.logitRows.length, shortRows: step.shortRows };
      encodeForward(pass, this.kernels, this.groups!, this.shape, shape, this.gpu.limits.maxComputeWorkgroupsPerDimension, tail, beforeSample);
      pass.end();
      encoder.copyBufferToBuffer(result, 0, readBack, 0, bytes);
      device.queue.submit([encoder.finish()]);
    });
    try {
      await readBack.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      this.gpu.assertAlive();
      await errors;
      throw e;
    }
    const data = readBack.getMappedRange(0, bytes).slice(0);
    readBack.unmap();
    await errors;
    return data;
  }
}
