import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuDevice } from '../../src/gpu/device.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { chooseKernelSet, describeKernelSet, kernelsOption } from '../../src/gpu/kernelSet.ts';
import { randomWeights, storiesConfig } from './randomModel.ts';

describe('the kernel set', () => {
  it('is chosen by the adapter under auto, as asked otherwise, and says why', () => {
    expect(chooseKernelSet('auto', true)).toBe('fallback');
    expect(chooseKernelSet('auto', false)).toBe('gpu');
    expect(chooseKernelSet('gpu', true)).toBe('gpu');
    expect(describeKernelSet('auto', true)).toBe('fallback kernels (auto: a CPU adapter)');
    expect(describeKernelSet('fallback', false)).toBe('fallback kernels (as asked)');
  });

  it('refuses an unknown option by name', () => {
    expect(kernelsOption(undefined)).toBe('auto');
    expect(kernelsOption('gpu')).toBe('gpu');
    expect(() => kernelsOption('fast')).toThrow(InvalidParamsError);
    expect(() => kernelsOption('fast', 'kernels')).toThrow(/kernels: must be one of auto, gpu, fallback, got "fast"/);
  });

  it('refuses shared-prefix attention without the gpu set', async () => {
    const weights = randomWeights(storiesConfig, 2);
    await expect(GpuBackend.create(weights, { blockSize: 8, numBlocks: 4, gpu: dawnGpu(), kernels: 'fallback', sharedPrefix: true })).rejects.toThrow(/sharedPrefix: needs the gpu kernel set/);
  });

  it('asks the device for the optional features the adapter has, and says which it got', async () => {
    const gpu = await GpuDevice.request(dawnGpu());
    const adapter = await dawnGpu().requestAdapter({ powerPreference: 'high-performance' });
    expect(gpu.features.shaderF16).toBe(adapter!.features.has('shader-f16'));
    expect(gpu.features.timestampQuery).toBe(adapter!.features.has('timestamp-query'));
    expect(gpu.features.subgroups).toBe(adapter!.features.has('subgroups'));
    expect(gpu.device.features.has('timestamp-query')).toBe(gpu.features.timestampQuery);
    gpu.destroy();
  });
});
