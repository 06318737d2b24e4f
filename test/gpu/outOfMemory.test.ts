// A device that runs out of memory while a model loads: the load fails with ModelTooLargeError
// (not WebGpuUnavailableError: WebGPU is there, the model is too big for it), naming the bytes
// it asked for, and destroys the device, which frees every buffer made so far (a later load starts
// on a fresh device: device.test.ts). SwiftShader will
// not run out of memory on request, so Dawn's device is wrapped: chosen buffers report an
// out-of-memory error into the innermost 'out-of-memory' scope (what createBuffer does on a
// real GPU), or throw the RangeError createBuffer throws when mapping at creation fails.
import { describe, expect, it } from 'vitest';
import { ModelTooLargeError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { parameterCount } from '../../src/model/synthetic.ts';
import { randomWeights, storiesConfig } from './randomModel.ts';

type Failure = 'oom' | 'throw' | null;

interface Watch {
  storageBytes: number;
  destroyed: boolean;
}

function failingDevice(device: GPUDevice, fail: (d: GPUBufferDescriptor) => Failure, watch: Watch): GPUDevice {
  const scopes: { filter: GPUErrorFilter; error: GPUError | null }[] = [];
  const overrides: Partial<GPUDevice> = {
    pushErrorScope(filter: GPUErrorFilter) {
      scopes.push({ filter, error: null });
      device.pushErrorScope(filter);
    },
    async popErrorScope() {
      const scope = scopes.pop();
      const real = await device.popErrorScope();
      return scope?.error ?? real;
    },
    createBuffer(desc: GPUBufferDescriptor) {
      const how = fail(desc);
      if (how === 'throw') throw new RangeError(`createBuffer failed, size (${desc.size}) is too large for the implementation when mappedAtCreation == true`);
      if (desc.usage & GPUBufferUsage.STORAGE) watch.storageBytes += desc.size;
      if (how === 'oom') {
        const scope = [...scopes].reverse().find((s) => s.filter === 'out-of-memory');
        if (scope) scope.error ??= { message: `cannot allocate ${desc.size} bytes` } as GPUError;
      }
      return device.createBuffer(desc);
    },
    destroy() {
      watch.destroyed = true;
      device.destroy();
    },
  };
  return new Proxy(device, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof GPUDevice];
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function failingGpu(fail: (d: GPUBufferDescriptor) => Failure, watch: Watch): GPU {
  const real = dawnGpu();
  return {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await real.requestAdapter(o);
      if (!a) return null;
      return { limits: a.limits, features: a.features, info: a.info, requestDevice: async (d?: GPUDeviceDescriptor) => failingDevice(await a.requestDevice(d), fail, watch) };
    },
  } as unknown as GPU;
}

const opts = { blockSize: 16, numBlocks: 8 };
// stories260K's shape in f32: 512 x 64 embedding, 5 layers; one KV pool is 8 blocks x 4 heads x 16 x 8 x 4 bytes.
const poolBytes = 8 * 4 * 16 * 8 * 4;

describe('running out of GPU memory while loading', () => {
  it('an out-of-memory error in the KV pools is a ModelTooLargeError naming the bytes asked for, and the device is destroyed', async () => {
    const watch: Watch = { storageBytes: 0, destroyed: false };
    const fail = (d: GPUBufferDescriptor): Failure => (d.label?.startsWith('KV cache V pool, layer 4') ? 'oom' : null);
    const err = await GpuBackend.create(randomWeights(storiesConfig, 3), { ...opts, gpu: failingGpu(fail, watch) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelTooLargeError);
    const e = err as ModelTooLargeError;
    expect(e.message).toMatch(/ran out of memory allocating it \(cannot allocate \d+ bytes\)/);
    expect(e.bytesOffered).toBeNull();
    // Every f32 weight and both pools of every layer were asked for; nothing beyond the storage buffers made.
    expect(e.bytesNeeded).toBeGreaterThanOrEqual(4 * parameterCount(storiesConfig) + 2 * storiesConfig.numLayers * poolBytes);
    expect(e.bytesNeeded).toBeLessThanOrEqual(watch.storageBytes);
    expect(watch.destroyed).toBe(true);
  });

  it('a buffer that cannot be mapped at creation (createBuffer throws) is a ModelTooLargeError naming that buffer', async () => {
    const watch: Watch = { storageBytes: 0, destroyed: false };
    // The embedding, 512 x 64 f32, is the only buffer this large.
    const fail = (d: GPUBufferDescriptor): Failure => (d.size >= 512 * 64 * 4 ? 'throw' : null);
    const err = await GpuBackend.create(randomWeights(storiesConfig, 3), { ...opts, gpu: failingGpu(fail, watch) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect((err as ModelTooLargeError).bytesNeeded).toBe(512 * 64 * 4);
    expect((err as ModelTooLargeError).bytesOffered).toBeNull();
    expect((err as Error).message).toMatch(/^the buffer for .* needs 131072 bytes, but the GPU could not allocate it \(createBuffer failed/);
    expect(watch.destroyed).toBe(true);
  });
});
