/**
 * The linear layers of the forward pass (q|k|v, o, gate|up, down, LM head), recorded per step.
 * f32 weights take wgsl/matmul.wgsl (with its fused bias). Packed weights take, per part,
 * wgsl/matmul_packed.wgsl when the step has at most MAX_M rows (decode: one pipeline per row
 * count, compiled on first use) and wgsl/matmul_packed_gemm.wgsl beyond (prefill: the row count
 * from the `rows` uniform); then wgsl/bias_add.wgsl adds a bias. Pipelines of packed parts share
 * explicit layouts, so one bind group per part serves every row count.
 */
import biasAddSrc from '../../wgsl/bias_add.wgsl?raw';
import gemmSrc from '../../wgsl/matmul_packed_gemm.wgsl?raw';
import type { WeightFormat } from '../quant/formats.ts';
import { bindBuffers } from './bindGroups.ts';
import { withFormat } from './formatKernels.ts';
import type { LinearWeights, PackedPart } from './gpuWeights.ts';
import { grid64 } from './grid.ts';
import { matmulPipeline } from './kernels.ts';
import { MAX_M, packedMatmul, type PackedMatmul } from './packedMatmul.ts';

/** One product of the forward pass, bound to its buffers; `rows` is the step's row count. */
export interface LinearStep {
  encode(pass: GPUComputePassEncoder, rows: number): void;
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
}

/** Pipelines of the linear products, made on first use and kept for the backend's life. */
export class LinearKernels {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly decodes = new Map<string, PackedMatmul>();
  private readonly decodeLayout: GPUBindGroupLayout;
  private readonly gemmLayout: GPUBindGroupLayout;
  private readonly decodePipelineLayout: GPUPipelineLayout;
  private readonly gemmPipelineLayout: GPUPipelineLayout;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxPerDim: number,
    /** A CPU adapter (SwiftShader): the decode product runs one invocation per weight row (see PackedMatmulSpec.lanes). */
    private readonly cpuAdapter = false,
  ) {
    const entries = (types: GPUBufferBindingType[]): GPUBindGroupLayoutEntry[] => types.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } }));
    this.decodeLayout = device.createBindGroupLayout({ label: 'matmul_packed', entries: entries(['read-only-storage', 'read-only-storage', 'storage']) });
    this.gemmLayout = device.createBindGroupLayout({ label: 'matmul_packed_gemm', entries: entries(['uniform', 'read-only-storage', 'read-only-storage', 'storage']) });
    this.decodePipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.decodeLayout] });
    this.gemmPipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.gemmLayout] });
  }

  /** The product of `w` on `io`, ready to record at any row count. */
  step(w: LinearWeights, io: LinearIo, noBias: GPUBuffer): LinearStep {
    if (w.kind === 'f32') return this.f32Step(w, io, noBias);
    const parts = w.parts.map((part) => this.partStep(w.k, w.n, part, io));
    const bias = io.bias ? this.biasStep(w.n, io, io.bias) : null;
    return {
      encode: (pass, rows) => {
        for (const p of parts) p.encode(pass, rows);
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

  private biasStep(n: number, io: LinearIo, bias: GPUBuffer): LinearStep {
    const pipeline = this.cached(`bias ${n}`, () => this.compile(`bias_add ${n}`, biasAddSrc, { N: n }, 'auto'));
    const group = bindBuffers(this.device, pipeline, [io.rows, bias, io.y]);
    return { encode: (pass, rows) => this.dispatch(pass, pipeline, group, grid64(rows * n, this.maxPerDim)) };
  }

  private decode(s: { format: WeightFormat; k: number; n: number; m: number; accumulate: boolean; yStride: number; yOffset: number }): PackedMatmul {
    const key = JSON.stringify(s);
    let p = this.decodes.get(key);
    if (!p) {
      const shape = this.cpuAdapter ? { lanes: 1, rows: 4 } : {};
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

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, [x, y]: [number, number]): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
  }
}
