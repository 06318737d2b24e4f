/**
 * The linear layers of the forward pass (q|k|v, o, gate|up, down, LM head), recorded per step.
 * The 'fallback' kernel set (CPU adapters): f32 weights take wgsl/matmul.wgsl (with its fused
 * bias); packed weights take, per part, wgsl/matmul_packed.wgsl when the step has at most MAX_M
 * rows (decode: one pipeline per row count, compiled on first use) and
 * wgsl/matmul_packed_gemm.wgsl beyond (prefill: the row count from the `rows` uniform).
 * The 'gpu' set: every weight, f32 included (as an F32 part), takes per part the GEMV of
 * src/gpu/gemv.ts (plus its split-K reduce) for up to 8 rows (all rows on CPU adapters) and the tiled
 * GEMM beyond; each part's shape is a uniform, so its pipelines serve every part. A step of more
 * rows whose short chunks (src/gpu/stepInputs.ts, rows first) hold at most 8 rows runs those on the
 * GEMV and the rest on the GEMM, so that each row takes the kernel it takes alone: a mixed
 * prefill/decode batch is then bit-identical to solo runs (the two kernels sum in different orders).
 * Beyond 8 short rows the whole step takes the GEMM (then decode rows differ from solo runs in the
 * last bits).
 * Then wgsl/bias_add.wgsl adds a bias. Pipelines of packed parts share explicit layouts, so one
 * bind group per part serves every row count.
 */
import biasAddSrc from '../../wgsl/bias_add.wgsl?raw';
import gemmSrc from '../../wgsl/matmul_packed_gemm.wgsl?raw';
import type { WeightFormat } from '../quant/formats.ts';
import { bindBuffers } from './bindGroups.ts';
import { withFormat } from './formatKernels.ts';
import type { LinearWeights, PackedPart } from './gpuWeights.ts';
import { foldedGrid, grid64 } from './grid.ts';
import { checkGemvShape, GEMV_PASS_ROWS, gemvGrid, gemvMaxRows, gemvParamsBuffer, gemvPipeline, planGemv, splitReducePipeline, tiledGrid, tiledPipeline } from './gemv.ts';
import type { KernelSet } from './kernelSet.ts';
import { matmulPipeline } from './kernels.ts';
import { MAX_M, packedMatmul, type PackedMatmul } from './packedMatmul.ts';

/**
 * One product of the forward pass, bound to its buffers; `rows` is the step's row count, the first
 * `shortRows` of them short chunks' (only products given LinearIo.split use it).
 */
export interface LinearStep {
  encode(pass: GPUComputePassEncoder, rows: number, shortRows?: number): void;
}

/** The buffers one product reads and writes. */
export interface LinearIo {
  /** Uniform holding the row count (dims.rows). */
  rows: GPUBuffer;
  x: GPUBuffer;
  y: GPUBuffer;
  bias: GPUBuffer | null;
  /** y += x W^T (the fused residual add). */
  accumulate: boolean;
  /** x is a gate|up product [rows, 2k] read as silu(gate) * up ('gpu' set only: see LinearKernels.fuses). */
  xSilu?: boolean;
  /** The product normalizes x itself (RMSNorm with this weight and epsilon; 'gpu' set only). */
  norm?: { weight: GPUBuffer; eps: number };
  /**
   * Uniforms (dims: rows, first) of the short chunks' rows and of the rest, for a step that splits
   * them between the GEMV and the GEMM ('gpu' set on a GPU; the layer products, not the LM head).
   */
  split?: { short: GPUBuffer; long: GPUBuffer };
}

/** Pipelines of the linear products, made on first use and kept for the backend's life. */
export class LinearKernels {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly decodes = new Map<string, PackedMatmul>();
  private readonly decodeLayout: GPUBindGroupLayout;
  private readonly gemmLayout: GPUBindGroupLayout;
  private readonly decodePipelineLayout: GPUPipelineLayout;
  private readonly gemmPipelineLayout: GPUPipelineLayout;
  private readonly reducePipelineLayout: GPUPipelineLayout;
  private readonly reduceLayout: GPUBindGroupLayout;
  /** The 'gpu' set's GEMV and tiled GEMM: (dims, params, weights, x, y, norm weight). */
  private readonly productLayout: GPUBindGroupLayout;
  private readonly productPipelineLayout: GPUPipelineLayout;
  /** Split-K partial sums, shared by every product (a pass runs them one after another); grown on demand. */
  private scratch: GPUBuffer | null = null;
  private readonly scratches: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly maxPerDim: number,
    /** 'fallback': on CPU adapters the decode product runs one invocation per weight row (see PackedMatmulSpec.lanes). */
    private readonly kernelSet: KernelSet = 'gpu',
    /** The GEMV reduces with subgroup operations (the device has the feature). */
    private readonly subgroups = device.features.has('subgroups'),
    /** A CPU adapter: the 'gpu' set's GEMV takes the CPU's shape (see planGemv). */
    private readonly cpuAdapter = false,
  ) {
    const entries = (types: GPUBufferBindingType[]): GPUBindGroupLayoutEntry[] => types.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } }));
    this.decodeLayout = device.createBindGroupLayout({ label: 'matmul_packed', entries: entries(['read-only-storage', 'read-only-storage', 'storage']) });
    this.gemmLayout = device.createBindGroupLayout({ label: 'matmul_packed_gemm', entries: entries(['uniform', 'read-only-storage', 'read-only-storage', 'storage']) });
    this.decodePipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.decodeLayout] });
    this.gemmPipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.gemmLayout] });
    this.reduceLayout = device.createBindGroupLayout({ label: 'matmul_splitk_reduce', entries: entries(['uniform', 'uniform', 'read-only-storage', 'storage']) });
    this.productLayout = device.createBindGroupLayout({ label: 'matmul_gemv / matmul_tiled', entries: entries(['uniform', 'uniform', 'read-only-storage', 'read-only-storage', 'storage', 'read-only-storage']) });
    this.productPipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.productLayout] });
    this.reducePipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.reduceLayout] });
  }

  /**
   * Whether the products take their input's RMSNorm and SwiGLU themselves (the 'gpu' set on a GPU):
   * then no rmsnorm runs before q|k|v and gate|up, and no silu_mul before down. Not on CPU adapters:
   * there every invocation of the GEMV's CPU shape would redo the norm's and SwiGLU's arithmetic
   * for its own rows (measured on SwiftShader: gate|up 18.5 -> 29 ms with the norm fused), which
   * costs more than the dispatches it saves; a GPU waits on the weights' bytes instead.
   */
  get fuses(): boolean {
    return this.kernelSet === 'gpu' && !this.cpuAdapter;
  }

  /** The product of `w` on `io`, ready to record at any row count. */
  step(w: LinearWeights, io: LinearIo, noBias: GPUBuffer): LinearStep {
    const gpu = this.kernelSet === 'gpu';
    if (w.kind === 'f32' && !gpu) return this.f32Step(w, io, noBias);
    // The 'gpu' set reads f32 rows through the F32 preamble, like any packed format.
    const all = w.kind === 'f32' ? [{ format: 'F32' as const, buffer: w.buffer, n: w.n, offset: 0 }] : w.parts;
    if (!gpu && (io.norm || io.xSilu)) throw new Error("only the 'gpu' kernel set fuses RMSNorm or SwiGLU into a product");
    const parts = all.map((part) => (gpu ? this.gpuPartStep(w.k, w.n, part, io, noBias) : this.partStep(w.k, w.n, part, io)));
    const bias = io.bias ? this.biasStep(w.n, io, io.bias) : null;
    return {
      encode: (pass, rows, shortRows) => {
        for (const p of parts) p.encode(pass, rows, shortRows);
        bias?.encode(pass, rows);
      },
    };
  }

  private f32Step(w: LinearWeights & { kind: 'f32' }, io: LinearIo, noBias: GPUBuffer): LinearStep {
    const key = `f32 ${w.k} ${w.n} ${io.accumulate} ${io.bias !== null}`;
    const pipeline = this.cached(key, () => matmulPipeline(this.device, { k: w.k, n: w.n, accumulate: io.accumulate, bias: io.bias !== null }));
    const group = bindBuffers(this.device, pipeline, [io.rows, io.x, w.buffer, io.bias ?? noBias, io.y]);
    return { encode: (pass, rows) => this.dispatch(pass, pipeline, group, this.tiles(rows, w.n)) };
  }

  private partStep(k: number, stride: number, part: PackedPart, io: LinearIo): LinearStep {
    const decodeGroup = this.device.createBindGroup({ layout: this.decodeLayout, entries: [part.buffer, io.x, io.y].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const gemmGroup = this.device.createBindGroup({ layout: this.gemmLayout, entries: [io.rows, part.buffer, io.x, io.y].map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const shape = { format: part.format, k, n: part.n, accumulate: io.accumulate, yStride: stride, yOffset: part.offset };
    return {
      encode: (pass, rows) => {
        if (rows <= MAX_M) {
          const p = this.decode({ ...shape, m: rows });
          this.dispatch(pass, p.pipeline, decodeGroup, p.grid);
        } else {
          this.dispatch(pass, this.gemm(shape), gemmGroup, this.tiles(rows, part.n));
        }
      },
    };
  }

  /**
   * The 'gpu' set's product of one part: the GEMV (split K: then the reduce) up to gemvMaxRows rows
   * (8 on GPUs, all on CPU adapters), the tiled GEMM beyond. The part's shape is a small uniform written here once, so the pipelines are
   * one per (format, rows, lanes, xSilu), shared by every part and every row count.
   */
  private gpuPartStep(k: number, stride: number, part: PackedPart, io: LinearIo, unused: GPUBuffer): LinearStep {
    const plan = planGemv(part.format, k, part.n, this.cpuAdapter);
    const xSilu = io.xSilu ?? false;
    const xNorm = io.norm !== undefined;
    const shape = { k, n: part.n, yStride: stride, yOffset: part.offset, split: plan.split, accumulate: io.accumulate, eps: io.norm?.eps };
    const params = gemvParamsBuffer(this.device, shape, `params ${part.format} ${k}->${part.n}`);
    const normW = io.norm?.weight ?? unused;
    this.scratches.push(params);
    // Split K only in the GPU plan, whose GEMV takes at most GEMV_PASS_ROWS rows.
    const out = plan.split > 1 ? this.scratchOf(plan.split * GEMV_PASS_ROWS * part.n * 4) : io.y;
    const maxRows = plan.split > 1 ? GEMV_PASS_ROWS : gemvMaxRows(this.cpuAdapter);
    const group = (layout: GPUBindGroupLayout, buffers: GPUBuffer[]) =>
      this.device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const gemvGroup = group(this.productLayout, [io.rows, params, part.buffer, io.x, out, normW]);
    const reduceGroup = plan.split > 1 ? group(this.reduceLayout, [io.rows, params, out, io.y]) : null;
    const tiledGroup = plan.split > 1 ? group(this.productLayout, [io.rows, params, part.buffer, io.x, io.y, normW]) : gemvGroup;
    const kernel = { format: part.format, rows: plan.rows, lanes: plan.lanes, subgroups: this.subgroups, xSilu, xNorm };
    // The same three groups with the short rows' dims (GEMV, reduce) and the other rows' (GEMM).
    const split = io.split
      ? {
          gemv: group(this.productLayout, [io.split.short, params, part.buffer, io.x, out, normW]),
          reduce: plan.split > 1 ? group(this.reduceLayout, [io.split.short, params, out, io.y]) : null,
          tiled: group(this.productLayout, [io.split.long, params, part.buffer, io.x, io.y, normW]),
        }
      : null;
    const tiled = (pass: GPUComputePassEncoder, g: GPUBindGroup, rows: number) => {
      const p = this.cached(`tiled ${part.format} ${xSilu} ${xNorm}`, () => tiledPipeline(this.device, { format: part.format, xSilu, xNorm }, this.productPipelineLayout));
      this.dispatch(pass, p, g, tiledGrid(rows, part.n, this.maxPerDim));
    };
    const gemv = (pass: GPUComputePassEncoder, g: GPUBindGroup, r: GPUBindGroup | null, rows: number) => {
      checkGemvShape(part.format, k, rows, maxRows);
      const p = this.cached(`gemv ${JSON.stringify(kernel)}`, () => gemvPipeline(this.device, kernel, this.productPipelineLayout));
      this.dispatch(pass, p, g, gemvGrid(plan, rows, this.maxPerDim));
      if (r) {
        const reduce = this.cached('reduce', () => splitReducePipeline(this.device, this.reducePipelineLayout));
        this.dispatch(pass, reduce, r, grid64(rows * part.n, this.maxPerDim));
      }
    };
    return {
      encode: (pass, rows, shortRows = 0) => {
        if (rows <= maxRows) {
          gemv(pass, gemvGroup, reduceGroup, rows);
        } else if (split && shortRows > 0 && shortRows <= maxRows) {
          gemv(pass, split.gemv, split.reduce, shortRows);
          tiled(pass, split.tiled, rows - shortRows);
        } else {
          tiled(pass, tiledGroup, rows);
        }
      },
    };
  }

  /** A scratch buffer of at least `bytes`; earlier, smaller ones stay alive for the bind groups that hold them. */
  private scratchOf(bytes: number): GPUBuffer {
    if (!this.scratch || this.scratch.size < bytes) {
      this.scratch = this.device.createBuffer({ label: 'split-K partial sums', size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE });
      this.scratches.push(this.scratch);
    }
    return this.scratch;
  }

  /** Frees the scratch buffers (the pipelines go with the device). */
  destroy(): void {
    for (const b of this.scratches) b.destroy();
  }

  private biasStep(n: number, io: LinearIo, bias: GPUBuffer): LinearStep {
    const pipeline = this.cached(`bias ${n}`, () => this.compile(`bias_add ${n}`, biasAddSrc, { N: n }, 'auto'));
    const group = bindBuffers(this.device, pipeline, [io.rows, bias, io.y]);
    return { encode: (pass, rows) => this.dispatch(pass, pipeline, group, grid64(rows * n, this.maxPerDim)) };
  }

  private decode(s: { format: WeightFormat; k: number; n: number; m: number; accumulate: boolean; yStride: number; yOffset: number }): PackedMatmul {
    const key = JSON.stringify(s);
    let p = this.decodes.get(key);
    if (!p) {
      const shape = this.kernelSet === 'fallback' ? { lanes: 1, rows: 4 } : {};
      p = packedMatmul(this.device, { ...s, ...shape, layout: this.decodePipelineLayout });
      this.decodes.set(key, p);
    }
    return p;
  }

  private gemm(s: { format: WeightFormat; k: number; n: number; accumulate: boolean; yStride: number; yOffset: number }): GPUComputePipeline {
    return this.cached(`gemm ${JSON.stringify(s)}`, () => {
      const constants = { K: s.k, N: s.n, ACCUMULATE: s.accumulate ? 1 : 0, Y_STRIDE: s.yStride, Y_OFFSET: s.yOffset };
      return this.compile(`matmul_packed_gemm ${s.format} ${s.k}->${s.n}`, withFormat(s.format, gemmSrc), constants, this.gemmPipelineLayout);
    });
  }

  private compile(label: string, code: string, constants: Record<string, number>, layout: GPUPipelineLayout | 'auto'): GPUComputePipeline {
    const module = this.device.createShaderModule({ label, code });
    return this.device.createComputePipeline({ label, layout, compute: { module, entryPoint: 'main', constants } });
  }

  private cached(key: string, make: () => GPUComputePipeline): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      p = make();
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** The 4x4-tile grid of matmul.wgsl and matmul_packed_gemm.wgsl: (ceil(n / 256), ceil(rows / 4)). */
  private tiles(rows: number, n: number): [number, number] {
    const y = Math.ceil(rows / 4);
    if (y > this.maxPerDim) throw new RangeError(`a step of ${rows} rows is more than this GPU dispatches at once (${this.maxPerDim * 4})`);
    return [Math.ceil(n / 256), y];
  }

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, [x, y, z = 1]: [number, number] | [number, number, number]): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
  }
}
