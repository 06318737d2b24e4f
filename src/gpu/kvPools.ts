import type { ModelConfig } from '../model/config.ts';
import type { GpuDevice } from './device.ts';
import type { KvPlan } from '../kv/KvPlan.ts';

/**
 * The paged KV cache on the GPU: per layer one K buffer and one V buffer, each
 * [num_blocks, num_kv_heads, block_size, head_dim] f32, zero-filled by WebGPU.
 */
export class KvPools {
  readonly k: GPUBuffer[];
  readonly v: GPUBuffer[];

  constructor(gpu: GpuDevice, c: ModelConfig, plan: KvPlan) {
    const pool = (kind: string, layer: number) => gpu.storage(plan.poolBytes, `KV cache ${kind} pool, layer ${layer}`);
    this.k = Array.from({ length: c.numLayers }, (_, l) => pool('K', l));
    this.v = Array.from({ length: c.numLayers }, (_, l) => pool('V', l));
  }

  /** Every pool buffer: the K pools, then the V pools. */
  all(): GPUBuffer[] {
    return [...this.k, ...this.v];
  }

  destroy(): void {
    for (const b of this.all()) b.destroy();
  }
}
