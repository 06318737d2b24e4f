import { describe, expect, it } from 'vitest';
import { DeviceLostError, ModelTooLargeError, WebGpuUnavailableError } from '../../src/errors.ts';
import { GpuDevice } from '../../src/gpu/device.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { planKvCache } from '../../src/kv/KvPlan.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { randomWeights, storiesConfig } from './randomModel.ts';

/** Dawn's GPU with an adapter that reports (and so is asked for) smaller buffer limits. */
function limitedGpu(maxBytes: number): GPU {
  const real = dawnGpu();
  const fake = {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await real.requestAdapter(o);
      if (!a) return null;
      const limits = {
        maxStorageBufferBindingSize: maxBytes,
        maxBufferSize: maxBytes,
        maxComputeWorkgroupStorageSize: a.limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: a.limits.maxComputeWorkgroupsPerDimension,
      };
      return { limits, features: a.features, info: a.info, requestDevice: (d?: GPUDeviceDescriptor) => a.requestDevice(d) };
    },
  };
  return fake as unknown as GPU;
}

describe('getting a device', () => {
  it('says WebGPU is missing when there is no navigator.gpu', async () => {
    await expect(GpuDevice.request(undefined)).rejects.toThrow(WebGpuUnavailableError);
    await expect(GpuDevice.request(undefined)).rejects.toThrow(/WebGPU is not available in this browser/);
  });

  it('says so when no adapter is found', async () => {
    const none = { requestAdapter: async () => null } as unknown as GPU;
    await expect(GpuDevice.request(none)).rejects.toThrow(/found no usable GPU adapter/);
  });

  it('asks for the adapter limits', async () => {
    const gpu = await GpuDevice.request(dawnGpu());
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(gpu.limits.maxStorageBufferBindingSize);
    gpu.destroy();
  });
});

describe('limits', () => {
  it('splits a tensor larger than a buffer may be, and refuses in words a row that is', async () => {
    // The embedding is 512 x 64 f32 = 128 KiB: two 64 KiB bindings hold it.
    const split = await GpuBackend.create(randomWeights(storiesConfig, 1), { blockSize: 16, numBlocks: 4, gpu: limitedGpu(64 * 1024) });
    expect(split.weightBytes).toBeGreaterThan(128 * 1024);
    split.dispose();
    // One embedding row is 64 f32 = 256 bytes.
    const p = GpuBackend.create(randomWeights(storiesConfig, 1), { blockSize: 16, numBlocks: 4, gpu: limitedGpu(128) });
    await expect(p).rejects.toThrow(ModelTooLargeError);
    await expect(p).rejects.toThrow(/needs 256 bytes, but .* is 128 bytes/);
  });

  it('refuses an explicit KV block count whose per-layer pool does not fit, saying what would', async () => {
    // A block of one pool is 4 kv heads x 16 x 8 x 4 bytes = 2 KiB; 256 KiB holds 128.
    const p = GpuBackend.create(randomWeights(storiesConfig, 1), { blockSize: 16, numBlocks: 200, gpu: limitedGpu(256 * 1024) });
    await expect(p).rejects.toThrow(/the KV cache needs a buffer of 0.39 MiB per layer .* allows 0.25 MiB per buffer; ask for at most 128 blocks \(2048 tokens\)/);
  });

  it('sizes the cache from a memory budget, capped at one binding per pool', () => {
    // 2 KiB per block per pool, 5 layers x K and V: 20 KiB per block over the model.
    expect(planKvCache(storiesConfig, { blockSize: 16, memoryBudgetBytes: 1024 * 1024 }, 1 << 30).numBlocks).toBe(51);
    expect(planKvCache(storiesConfig, { blockSize: 16, memoryBudgetBytes: 1 << 30 }, 64 * 1024).numBlocks).toBe(32);
    expect(() => planKvCache(storiesConfig, { blockSize: 16, memoryBudgetBytes: 1000 }, 1 << 30)).toThrow(/does not hold one KV block/);
    expect(planKvCache(storiesConfig, { blockSize: 16, maxBlocks: 7, memoryBudgetBytes: 1 }, 1 << 30).numBlocks).toBe(7);
  });
});

describe('losing the device', () => {
  it('turns a lost device into DeviceLostError on later calls', async () => {
    const backend = await GpuBackend.create(randomWeights(storiesConfig, 2), { blockSize: 16, numBlocks: 4, gpu: dawnGpu() });
    backend.gpu.device.destroy(); // what a driver reset looks like from here
    await backend.gpu.device.lost;
    const batch = { chunks: [{ tokens: [3], startPos: 0, blockTable: [0] }], logits: 'last' as const };
    await expect(backend.forward(batch)).rejects.toThrow(DeviceLostError);
    await expect(backend.forwardGreedy(batch)).rejects.toThrow(/the GPU device was lost/);
    await expect(backend.copyBlocks([[0, 1]])).rejects.toThrow(DeviceLostError);
  });

  it('says the backend was disposed after dispose()', async () => {
    const backend = await GpuBackend.create(randomWeights(storiesConfig, 2), { blockSize: 16, numBlocks: 4, gpu: dawnGpu() });
    backend.dispose();
    await expect(backend.forward({ chunks: [{ tokens: [3], startPos: 0, blockTable: [0] }], logits: 'last' })).rejects.toThrow(/disposed/);
  });
});
