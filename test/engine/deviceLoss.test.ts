import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { DeviceLostError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import type { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { storyPrompt } from './engineHarness.ts';

async function gpuEngine(gpu: GPU = dawnGpu()): Promise<{ engine: Engine; api: FolioEngine; warnings: string[] }> {
  const warnings: string[] = [];
  const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu, onWarning: (m) => warnings.push(m) });
  return { engine, api: new FolioEngine(engine), warnings };
}

/** What a driver reset looks like from here: the engine's current device is gone. */
async function loseDevice(engine: Engine): Promise<void> {
  const device = (engine.backend as GpuBackend).gpu.device;
  device.destroy();
  await device.lost;
}

/** Rejects instead of hanging. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);
}

const request = { prompt: storyPrompt(5, 12), max_tokens: 24, temperature: 0 };

/**
 * Dawn's GPU, whose devices report their loss `delayMs` late: as in Chrome, where a pending
 * mapAsync rejects (a DOMException) before `device.lost` resolves.
 */
function lateLossGpu(delayMs: number): GPU {
  const real = dawnGpu();
  const passThrough = <T extends object>(target: T, own: Record<string, unknown>): T =>
    new Proxy(target, {
      get(t, key) {
        if (typeof key === 'string' && key in own) return own[key];
        const v = Reflect.get(t, key, t) as unknown;
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  const lateDevice = (device: GPUDevice) =>
    passThrough(device, { lost: device.lost.then((info) => new Promise<GPUDeviceLostInfo>((resolve) => setTimeout(() => resolve(info), delayMs))) });
  const lateAdapter = (adapter: GPUAdapter) =>
    passThrough(adapter, { requestDevice: async (d?: GPUDeviceDescriptor) => lateDevice(await adapter.requestDevice(d)) });
  return passThrough(real, { requestAdapter: async (o?: GPURequestAdapterOptions) => {
    const adapter = await real.requestAdapter(o);
    return adapter && lateAdapter(adapter);
  } });
}

describe('a lost GPU device (Dawn, stories260K)', () => {
  it('fails the requests in flight with DeviceLostError, rebuilds, and serves the same greedy text again', async () => {
    const { engine, api, warnings } = await gpuEngine();
    try {
      const a = (await api.completions.create(request)).choices[0].text;
      expect(a.length).toBeGreaterThan(0);
      const firstBackend = engine.backend;

      // Lost while idle: the next request meets it and fails, typed and in words.
      await loseDevice(engine);
      const failed = api.completions.create(request);
      await expect(failed).rejects.toThrow(DeviceLostError);
      await expect(failed).rejects.toThrow(/the GPU device was lost/);
      // The request after it waits for the rebuild and gets the same text.
      expect((await api.completions.create(request)).choices[0].text).toBe(a);
      expect(engine.backend).not.toBe(firstBackend);
      expect(engine.stats().deviceLosses).toBe(1);

      // Lost in the middle of a stream: that stream ends with DeviceLostError.
      const stream = await api.completions.create({ ...request, stream: true });
      let text = '';
      let lost = false;
      const consume = async () => {
        for await (const chunk of stream) {
          text += chunk.choices[0].text;
          if (text.length > 0 && !lost) {
            lost = true;
            (engine.backend as GpuBackend).gpu.device.destroy();
          }
        }
      };
      await expect(consume()).rejects.toThrow(DeviceLostError);
      expect(text.length).toBeGreaterThan(0);
      // A request that arrives during the rebuild waits for it rather than being refused.
      expect((await api.completions.create(request)).choices[0].text).toBe(a);

      await engine.idle();
      const stats = engine.stats();
      expect(stats.deviceLosses).toBe(2);
      expect(stats.kv.blocksUsed).toBe(0);
      expect(stats.requests.running + stats.requests.waiting).toBe(0);
      expect(warnings.some((w) => /recreating the device/.test(w))).toBe(true);
    } finally {
      engine.backend.dispose();
    }
  });

  it('a loss reported after mapAsync has failed still ends the stream with DeviceLostError, and the next request succeeds', async () => {
    const { engine, api } = await gpuEngine(lateLossGpu(300));
    try {
      const a = (await api.completions.create(request)).choices[0].text;
      const stream = await api.completions.create({ ...request, stream: true });
      let lost = false;
      const consume = async () => {
        for await (const chunk of stream) {
          if (chunk.choices[0].text.length > 0 && !lost) {
            lost = true;
            (engine.backend as GpuBackend).gpu.device.destroy();
          }
        }
      };
      await expect(consume()).rejects.toThrow(DeviceLostError);
      // The first request after the loss: it waits for the rebuild and gets the same text.
      expect((await within(api.completions.create(request), 60_000)).choices[0].text).toBe(a);
      expect(engine.stats().deviceLosses).toBe(1);
    } finally {
      engine.backend.dispose();
    }
  });

  it('empties the prefix cache on a rebuild: no hit may point at the lost KV', async () => {
    const { engine, api } = await gpuEngine();
    try {
      const long = { prompt: storyPrompt(9, 60), max_tokens: 8, temperature: 0 };
      const a = await api.completions.create(long);
      const again = await api.completions.create(long);
      expect(again.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
      await loseDevice(engine);
      await expect(api.completions.create(long)).rejects.toThrow(DeviceLostError);
      const after = await api.completions.create(long);
      expect(after.usage.prompt_tokens_details.cached_tokens).toBe(0);
      expect(after.choices[0].text).toBe(a.choices[0].text);
    } finally {
      engine.backend.dispose();
    }
  });

  it('says so, typed and at once, when no new device can be had', async () => {
    const real = dawnGpu();
    let adapters = true;
    const flaky = { requestAdapter: (o?: GPURequestAdapterOptions) => (adapters ? real.requestAdapter(o) : Promise.resolve(null)) } as unknown as GPU;
    const { engine, api } = await gpuEngine(flaky);
    try {
      await api.completions.create(request);
      adapters = false; // the GPU went away for good
      await loseDevice(engine);
      await expect(within(api.completions.create(request), 30_000)).rejects.toThrow(DeviceLostError);
      for (let i = 0; i < 2; i++) {
        const later = within(api.completions.create(request), 30_000);
        await expect(later).rejects.toThrow(DeviceLostError);
        await expect(later).rejects.toThrow(/could not be created .*no usable GPU adapter.*reload the page, or load the model with backend 'cpu'/);
      }
      await within(engine.idle(), 30_000);
      expect(engine.stats().deviceLosses).toBe(1);
      expect(engine.stats().kv.blocksUsed).toBe(0);
    } finally {
      engine.backend.dispose();
    }
  });
});
