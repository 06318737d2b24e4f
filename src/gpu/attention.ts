/**
 * The 'gpu' kernel set's paged attention: flash-decoding with shared prefixes read once.
 * Per layer two dispatches: attention_partial (one workgroup per work item and kv head, planned
 * on the host by src/gpu/attentionPlan.ts) and, when some row has several items,
 * attention_reduce. The plan is the same for every layer of a step, so it is planned and
 * uploaded once per step; the partials buffer is reused layer after layer (WebGPU orders the
 * dispatches of a pass).
 */
import partialSrc from '../../wgsl/attention_partial.wgsl?raw';
import reduceSrc from '../../wgsl/attention_reduce.wgsl?raw';
import ropeKvWriteSrc from '../../wgsl/rope_kv_write.wgsl?raw';
import { type AttentionPlan, encodePlan, planAttention } from './attentionPlan.ts';
import type { GpuDevice } from './device.ts';
import { foldedGrid, grid64 } from './grid.ts';
import type { KernelShape } from './kernels.ts';

/** Keys per work item: enough items to fill a large GPU at long context, few partials at short. */
export const SPLIT_KEYS = 256;

/** Sizes of attention_partial's workgroup memory, fixed per model and device. */
export interface FlashShape {
  /** Keys per tile loaded into workgroup memory. */
  tile: number;
  /** Query rows per work item. */
  maxQueries: number;
  /** Query heads per kv head. */
  group: number;
  /** Invocations per workgroup. */
  workgroup: number;
  /** An invocation owns whole (row, head) slots (CPU adapters) rather than one vec4 of a head (GPUs). */
  wholeHead: boolean;
}

/**
 * The largest tile (up to 32 keys) whose K and V fit `workgroupBytes`, 128 invocations, and up
 * to 64 (row, head) pairs per item, whose accumulators stay in registers. On a CPU adapter
 * (SwiftShader) workgroups are small and the memory too: a barrier there costs per invocation,
 * and Dawn's zero-initialization of workgroup memory takes SwiftShader seconds to compile for
 * large arrays (4.9 s against 1.0 s without it, measured, per device); and each invocation owns
 * whole heads there (wholeHead), since a CPU pays for every score the GPU shape recomputes.
 */
export function flashShape(s: KernelShape, workgroupBytes: number, cpuAdapter = false): FlashShape {
  const group = s.numHeads / s.numKvHeads;
  const maxQueries = Math.max(1, Math.min(16, Math.floor((cpuAdapter ? 16 : 64) / group)));
  const workgroup = cpuAdapter ? CPU_WORKGROUP : 128;
  for (const tile of cpuAdapter ? [CPU_TILE, 8, 4, 2, 1] : [32, 16, 8, 4, 2, 1]) {
    if (2 * tile * s.headDim * 4 <= workgroupBytes) return { tile, maxQueries, group, workgroup, wholeHead: cpuAdapter };
  }
  throw new RangeError(`paged attention needs more workgroup memory than ${workgroupBytes} bytes for head dimension ${s.headDim}`);
}

const CPU_WORKGROUP = 16;
const CPU_TILE = 16;

function compile(device: GPUDevice, label: string, code: string, constants: Record<string, number>): GPUComputePipeline {
  const module = device.createShaderModule({ label, code });
  return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants } });
}

export function attentionPartialPipeline(device: GPUDevice, s: KernelShape, f: FlashShape): GPUComputePipeline {
  if (s.headDim % 4 !== 0) throw new RangeError(`paged attention needs a head dimension that is a multiple of 4, got ${s.headDim}`);
  const preamble = `const HEAD_DIM: u32 = ${s.headDim}u;\nconst TILE: u32 = ${f.tile}u;\nconst Q_MAX: u32 = ${f.maxQueries}u;\nconst GROUP: u32 = ${f.group}u;\nconst WG: u32 = ${f.workgroup}u;\nconst WHOLE_HEAD: bool = ${f.wholeHead};\n`;
  return compile(device, 'attention_partial', preamble + partialSrc, {
    NUM_HEADS: s.numHeads,
    NUM_KV_HEADS: s.numKvHeads,
    BLOCK_SIZE: s.blockSize,
    SCALE: 1 / Math.sqrt(s.headDim),
  });
}

export function attentionReducePipeline(device: GPUDevice, s: KernelShape): GPUComputePipeline {
  return compile(device, 'attention_reduce', reduceSrc, { NUM_HEADS: s.numHeads, HD4: s.headDim / 4 });
}

export function ropeKvWritePipeline(device: GPUDevice, s: KernelShape): GPUComputePipeline {
  return compile(device, 'rope_kv_write', ropeKvWriteSrc, { NUM_HEADS: s.numHeads, NUM_KV_HEADS: s.numKvHeads, HEAD_DIM: s.headDim, BLOCK_SIZE: s.blockSize });
}

/** The step buffers attention reads and writes (StepBuffers has them). */
export interface AttentionIo {
  rowMeta: GPUBuffer;
  tables: GPUBuffer;
  qkv: GPUBuffer;
  att: GPUBuffer;
}

/** The step's rows as attention plans them (StepInputs has them). */
export interface AttentionRows {
  rowMeta: Uint32Array;
  tables: Uint32Array;
  chunkRows: readonly number[];
}

export interface FlashOptions {
  sharedPrefix: boolean;
  splitKeys?: number;
  /** The barrier-free CPU-adapter layout; the adapter's kind by default (GpuBackendOptions.gpuShapes). */
  cpuShapes?: boolean;
}

export class FlashAttention {
  readonly flash: FlashShape;
  readonly options: Required<FlashOptions>;
  private readonly partialPipeline: GPUComputePipeline;
  private readonly reducePipeline: GPUComputePipeline;
  private planBuffer: GPUBuffer | null = null;
  private partialsBuffer: GPUBuffer | null = null;
  private groups: Array<{ partial: GPUBindGroup; reduce: GPUBindGroup }> = [];
  private boundTo: AttentionIo | null = null;
  /** The current step's plan (for the bench's bytes and dispatch counts). */
  last: AttentionPlan | null = null;

  constructor(
    private readonly gpu: GpuDevice,
    private readonly shape: KernelShape,
    private readonly pools: { k: GPUBuffer[]; v: GPUBuffer[] },
    opts: FlashOptions,
  ) {
    const cpuShapes = opts.cpuShapes ?? gpu.cpuAdapter;
    this.flash = flashShape(shape, gpu.limits.maxComputeWorkgroupStorageSize, cpuShapes);
    this.options = { sharedPrefix: opts.sharedPrefix, splitKeys: opts.splitKeys ?? SPLIT_KEYS, cpuShapes };
    this.partialPipeline = attentionPartialPipeline(gpu.device, shape, this.flash);
    this.reducePipeline = attentionReducePipeline(gpu.device, shape);
  }

  /** Plans the step, grows the buffers it needs, uploads the plan; call before encoding it. */
  prepare(step: AttentionRows, io: AttentionIo): AttentionPlan {
    const s = this.shape;
    const plan = planAttention(step.rowMeta, step.tables, step.chunkRows, {
      blockSize: s.blockSize,
      splitKeys: this.options.splitKeys,
      maxQueries: this.flash.maxQueries,
      sharedPrefix: this.options.sharedPrefix,
    });
    const { words, partialVec4s } = encodePlan(plan, s.numHeads, s.headDim);
    let grown = false;
    if (!this.planBuffer || this.planBuffer.size < words.byteLength) {
      this.planBuffer?.destroy();
      this.planBuffer = this.gpu.storage(roundUp(words.byteLength), 'attention plan');
      grown = true;
    }
    if (!this.partialsBuffer || this.partialsBuffer.size < partialVec4s * 16) {
      this.partialsBuffer?.destroy();
      this.partialsBuffer = this.gpu.storage(roundUp(partialVec4s * 16), 'attention partials');
      grown = true;
    }
    if (grown || this.boundTo !== io) this.bind(io);
    this.gpu.device.queue.writeBuffer(this.planBuffer, 0, words);
    this.last = plan;
    return plan;
  }

  /** Turns shared-prefix attention on or off from the next step (tests and the bench compare the two on one device). */
  setSharedPrefix(on: boolean): void {
    this.options.sharedPrefix = on;
  }

  /** Dispatches per layer for the current plan: the partial pass, and the reduce when needed. */
  dispatchesPerLayer(): number {
    return this.last && this.last.reduceRows.length > 0 ? 2 : 1;
  }

  encode(pass: GPUComputePassEncoder, layer: number, maxPerDim: number): void {
    const plan = this.last;
    if (!plan) throw new Error('FlashAttention.encode before prepare');
    const g = this.groups[layer];
    pass.setPipeline(this.partialPipeline);
    pass.setBindGroup(0, g.partial);
    const [x, y] = foldedGrid(plan.items.length * this.shape.numKvHeads, maxPerDim);
    pass.dispatchWorkgroups(x, y);
    if (plan.reduceRows.length === 0) return;
    pass.setPipeline(this.reducePipeline);
    pass.setBindGroup(0, g.reduce);
    const [rx, ry] = grid64(plan.reduceRows.length * this.shape.numHeads * (this.shape.headDim / 4), maxPerDim);
    pass.dispatchWorkgroups(rx, ry);
  }

  destroy(): void {
    this.planBuffer?.destroy();
    this.partialsBuffer?.destroy();
  }

  private bind(io: AttentionIo): void {
    const device = this.gpu.device;
    const group = (p: GPUComputePipeline, buffers: GPUBuffer[]) =>
      device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const plan = this.planBuffer!;
    const partials = this.partialsBuffer!;
    this.groups = this.pools.k.map((k, l) => ({
      partial: group(this.partialPipeline, [io.rowMeta, io.tables, io.qkv, k, this.pools.v[l], plan, partials, io.att]),
      reduce: group(this.reducePipeline, [plan, partials, io.att]),
    }));
    this.boundTo = io;
  }
}

function roundUp(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(256, bytes)));
}
