import type { GpuDevice } from './device.ts';
import type { KvPools } from './kvPools.ts';

/**
 * Whole KV blocks between the GPU pools and the host, for persisted prefix blocks. Layout on
 * the host: per block, per layer, K then V, each one pool block ([kv heads, block size, head
 * dim] f32), which is `blockBytes` contiguous bytes at `block * blockBytes` in a pool buffer.
 */
function check(ids: readonly number[], numBlocks: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= numBlocks) throw new RangeError(`block id ${id} is outside the cache (${numBlocks} blocks)`);
  }
}

export async function readBlocksFromGpu(gpu: GpuDevice, pools: KvPools, ids: readonly number[], blockBytes: number, numBlocks: number): Promise<Float32Array> {
  check(ids, numBlocks);
  const layers = pools.k.length;
  const bytes = ids.length * layers * 2 * blockBytes;
  if (bytes === 0) return new Float32Array(0);
  const device = gpu.device;
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ, label: 'KV block read-back' });
  try {
    const encoder = device.createCommandEncoder({ label: 'read KV blocks' });
    ids.forEach((b, i) => {
      for (let l = 0; l < layers; l++) {
        const at = (i * layers + l) * 2 * blockBytes;
        encoder.copyBufferToBuffer(pools.k[l], b * blockBytes, staging, at, blockBytes);
        encoder.copyBufferToBuffer(pools.v[l], b * blockBytes, staging, at + blockBytes, blockBytes);
      }
    });
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return out;
  } finally {
    staging.destroy();
  }
}

export function writeBlocksToGpu(gpu: GpuDevice, pools: KvPools, ids: readonly number[], data: Float32Array, blockBytes: number, numBlocks: number): void {
  check(ids, numBlocks);
  const layers = pools.k.length;
  const floats = blockBytes / 4;
  if (data.length !== ids.length * layers * 2 * floats) throw new RangeError(`writeBlocks: ${data.length} floats for ${ids.length} blocks of ${layers * 2 * floats}`);
  const q = gpu.device.queue;
  const src = data as Float32Array<ArrayBuffer>;
  ids.forEach((b, i) => {
    for (let l = 0; l < layers; l++) {
      const at = (i * layers + l) * 2 * floats;
      q.writeBuffer(pools.k[l], b * blockBytes, src, at, floats);
      q.writeBuffer(pools.v[l], b * blockBytes, src, at + floats, floats);
    }
  });
}
