import blockScoresSrc from '../../wgsl/block_scores.wgsl?raw';
import kShiftSrc from '../../wgsl/k_shift.wgsl?raw';
import type { KeyShift } from '../kv/BlockTable.ts';
import { bindBuffers } from './bindGroups.ts';
import type { GpuDevice } from './device.ts';
import { scoped } from './errorScopes.ts';
import { grid64 } from './grid.ts';
import type { KernelShape } from './kernels.ts';
import type { KvPools } from './kvPools.ts';

/**
 * Work on the KV pools between steps for long contexts: the context shift's key rotation
 * (wgsl/k_shift.wgsl) and PagedEviction's block scores (wgsl/block_scores.wgsl). Pipelines are
 * compiled on first use: most sessions never need them.
 */
export class KvMaintenance {
  private shiftPipeline: GPUComputePipeline | null = null;
  private scorePipeline: GPUComputePipeline | null = null;

  constructor(
    private readonly gpu: GpuDevice,
    private readonly pools: KvPools,
    private readonly shape: KernelShape,
    private readonly invFreq: Float64Array,
    private readonly numBlocks: number,
  ) {}

  private constants(): Record<string, number> {
    return { NUM_KV_HEADS: this.shape.numKvHeads, HEAD_DIM: this.shape.headDim, BLOCK_SIZE: this.shape.blockSize };
  }

  private pipeline(label: string, code: string): GPUComputePipeline {
    const device = this.gpu.device;
    const module = device.createShaderModule({ label, code });
    return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants: this.constants() } });
  }

  private checkIds(ids: readonly number[]): void {
    for (const b of ids) if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) throw new RangeError(`block id ${b} is outside the cache (${this.numBlocks} blocks)`);
    if (new Set(ids).size !== ids.length) throw new RangeError('a block appears twice');
  }

  /** Rotates each block's keys by its delta, in every layer; waits for the device. */
  async shift(shifts: readonly KeyShift[]): Promise<void> {
    if (shifts.length === 0) return;
    this.checkIds(shifts.map((s) => s.block));
    this.shiftPipeline ??= this.pipeline('k_shift', kShiftSrc);
    const hd = this.shape.headDim;
    const half = hd / 2;
    const table = new Float32Array(shifts.length * hd);
    shifts.forEach(({ delta }, r) => {
      for (let j = 0; j < half; j++) {
        const angle = delta * this.invFreq[j];
        table[r * hd + j] = Math.cos(angle);
        table[r * hd + half + j] = Math.sin(angle);
      }
    });
    const ids = Uint32Array.from(shifts.map((s) => s.block));
    const invocations = shifts.length * this.shape.numKvHeads * this.shape.blockSize * half;
    await this.run('k shift', this.shiftPipeline, ids, invocations, (dims, blocks) => {
      const trig = this.gpu.storage(table.byteLength, 'k shift table');
      this.gpu.device.queue.writeBuffer(trig, 0, table);
      return { groups: this.pools.k.map((pool) => [dims, blocks, trig, pool]), extra: [trig] };
    });
  }

  /** Per block, the mean over layers, KV heads and tokens of ||V|| / ||K||. */
  async scores(idList: readonly number[]): Promise<Float32Array> {
    if (idList.length === 0) return new Float32Array(0);
    this.checkIds(idList);
    this.scorePipeline ??= this.pipeline('block_scores', blockScoresSrc);
    const ids = Uint32Array.from(idList);
    const bytes = ids.length * 4;
    const out = this.gpu.storage(bytes, 'block scores');
    const staging = this.gpu.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ, label: 'block scores read-back' });
    try {
      this.gpu.device.queue.writeBuffer(out, 0, new Float32Array(ids.length));
      await this.run('block scores', this.scorePipeline, ids, ids.length, (dims, blocks) => ({
        groups: this.pools.k.map((k, l) => [dims, blocks, k, this.pools.v[l], out]),
        extra: [],
      }), (encoder) => encoder.copyBufferToBuffer(out, 0, staging, 0, bytes));
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const sums = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      const per = this.pools.k.length * this.shape.numKvHeads * this.shape.blockSize;
      return sums.map((s) => s / per);
    } finally {
      out.destroy();
      staging.destroy();
    }
  }

  /** One dispatch per bind group, in order, in one pass; then `after` on the encoder; waits for the device. */
  private async run(
    label: string,
    pipeline: GPUComputePipeline,
    ids: Uint32Array<ArrayBuffer>,
    invocations: number,
    bind: (dims: GPUBuffer, blocks: GPUBuffer) => { groups: GPUBuffer[][]; extra: GPUBuffer[] },
    after?: (encoder: GPUCommandEncoder) => void,
  ): Promise<void> {
    const device = this.gpu.device;
    const dims = this.gpu.uniform(`${label} count`);
    const blocks = this.gpu.storage(ids.byteLength, `${label} blocks`);
    let extra: GPUBuffer[] = [];
    try {
      device.queue.writeBuffer(dims, 0, Uint32Array.of(ids.length));
      device.queue.writeBuffer(blocks, 0, ids);
      const bound = bind(dims, blocks);
      extra = bound.extra;
      const errors = scoped(device, () => {
        const encoder = device.createCommandEncoder({ label });
        const pass = encoder.beginComputePass({ label });
        const [x, y] = grid64(invocations, this.gpu.limits.maxComputeWorkgroupsPerDimension);
        pass.setPipeline(pipeline);
        for (const buffers of bound.groups) {
          pass.setBindGroup(0, bindBuffers(device, pipeline, buffers));
          pass.dispatchWorkgroups(x, y);
        }
        pass.end();
        after?.(encoder);
        device.queue.submit([encoder.finish()]);
      });
      await device.queue.onSubmittedWorkDone();
      await errors;
    } finally {
      dims.destroy();
      blocks.destroy();
      for (const b of extra) b.destroy();
    }
  }
}
