import { bindBuffers } from './bindGroups.ts';
import type { GpuDevice } from './device.ts';
import { scoped } from './errorScopes.ts';
import { grid64 } from './grid.ts';

export type BlockPairs = ReadonlyArray<readonly [src: number, dst: number]>;


/**
 * Copies blocks in every pool buffer with the copy_blocks kernel, one dispatch per pool, and
 * waits. The pairs run in no particular order: the caller has checked them (checkCopyPlan).
 */
export async function copyBlocksOnGpu(gpu: GpuDevice, pipeline: GPUComputePipeline, pools: GPUBuffer[], pairs: BlockPairs, blockElems: number): Promise<void> {
  const device = gpu.device;
  const pairBuf = gpu.storage(pairs.length * 8, 'copy pairs');
  const count = gpu.uniform('copy count');
  try {
    device.queue.writeBuffer(pairBuf, 0, Uint32Array.from(pairs.flat()));
    device.queue.writeBuffer(count, 0, Uint32Array.of(pairs.length));
    const errors = scoped(device, () => {
      const encoder = device.createCommandEncoder({ label: 'copy blocks' });
      const pass = encoder.beginComputePass();
      const [x, y] = grid64(pairs.length * blockElems, gpu.limits.maxComputeWorkgroupsPerDimension);
      pass.setPipeline(pipeline);
      for (const pool of pools) {
        pass.setBindGroup(0, bindBuffers(device, pipeline, [count, pairBuf, pool]));
        pass.dispatchWorkgroups(x, y);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    await device.queue.onSubmittedWorkDone();
    await errors;
  } finally {
    pairBuf.destroy();
    count.destroy();
  }
}
