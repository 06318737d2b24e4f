import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

// A machine without a usable GPU: Chromium launched without the WebGPU/SwiftShader flags
// (and with GPU and Vulkan off) still has navigator.gpu, but requestAdapter() answers null.
describe('createEngine in a Chromium without WebGPU', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser(undefined, { webgpu: false });
  });
  afterAll(async () => s?.close());

  it('has no WebGPU adapter there', async () => {
    const r = await s.page.evaluate(async () => {
      const gpu = (navigator as { gpu?: GPU }).gpu;
      return gpu ? { api: true, adapter: (await gpu.requestAdapter()) !== null } : { api: false, adapter: false };
    });
    expect(r.adapter).toBe(false);
  });

  it("backend 'webgpu' fails with a WebGpuUnavailableError that says why; 'cpu' then works; 'auto' falls back and says why", async () => {
    const r = await s.page.evaluate(async () => {
      const folio = window.folio;
      let error: { isTyped: boolean; name: string; code: string; message: string } | null = null;
      try {
        (await folio.createEngine({ model: '/models/stories260K', backend: 'webgpu' })).dispose();
      } catch (e) {
        error = { isTyped: e instanceof folio.WebGpuUnavailableError, name: (e as Error).name, code: (e as { code: string }).code, message: (e as Error).message };
      }
      const cpu = await folio.createEngine({ model: '/models/stories260K', backend: 'cpu' });
      const cpuOut = await cpu.completions.create({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
      const cpuInfo = cpu.info;
      cpu.dispose();
      const auto = await folio.createEngine({ model: '/models/stories260K', backend: 'auto' });
      const autoOut = await auto.completions.create({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
      const autoInfo = auto.info;
      auto.dispose();
      return { error, cpuInfo, cpuText: cpuOut.choices[0].text, autoInfo, autoText: autoOut.choices[0].text };
    });
    expect(r.error).not.toBeNull();
    expect(r.error!.isTyped).toBe(true);
    expect(r.error!.name).toBe('WebGpuUnavailableError');
    expect(r.error!.code).toBe('WEBGPU_UNAVAILABLE');
    expect(r.error!.message).toMatch(/WebGPU is present but found no usable GPU adapter .*Run the model on the CPU instead/);
    expect(r.cpuInfo).toMatchObject({ backend: 'cpu', fallbackReason: null });
    expect(r.cpuText.length).toBeGreaterThan(0);
    expect(r.autoInfo.backend).toBe('cpu');
    expect(r.autoInfo.fallbackReason).toBe(r.error!.message);
    expect(r.autoText).toBe(r.cpuText);
  });
});

// A page served over plain http from a host other than localhost is not a secure context:
// there navigator.gpu does not exist at all, in the page or in its worker.
describe('createEngine on a page that is not a secure context', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser(undefined, { host: 'folio.test' });
  });
  afterAll(async () => s?.close());

  it('has no navigator.gpu there, in the page or in a worker', async () => {
    const r = await s.page.evaluate(async () => {
      const src = 'postMessage("gpu" in navigator)';
      const worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
      const inWorker = await new Promise((resolve) => (worker.onmessage = (e) => resolve(e.data)));
      worker.terminate();
      return { secure: isSecureContext, page: 'gpu' in navigator, worker: inWorker };
    });
    expect(r).toEqual({ secure: false, page: false, worker: false });
  });

  // Insecure contexts also lack crypto.subtle: the caches' SHA-256 falls back to @noble/hashes.
  it("backend 'webgpu' says WebGPU is missing and how to get it; 'auto' runs on the CPU and says why", async () => {
    const r = await s.page.evaluate(async () => {
      const folio = window.folio;
      const api = { secure: isSecureContext, gpu: 'gpu' in navigator };
      let error: { isTyped: boolean; message: string } | null = null;
      try {
        (await folio.createEngine({ model: '/models/stories260K', backend: 'webgpu' })).dispose();
      } catch (e) {
        error = { isTyped: e instanceof folio.WebGpuUnavailableError, message: (e as Error).message };
      }
      const auto = await folio.createEngine({ model: '/models/stories260K', backend: 'auto' });
      const out = await auto.completions.create({ prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
      const info = auto.info;
      auto.dispose();
      return { api, error, info, text: out.choices[0].text };
    });
    expect(r.api).toEqual({ secure: false, gpu: false });
    expect(r.error?.isTyped).toBe(true);
    expect(r.error?.message).toMatch(/WebGPU is not available in this browser \(navigator.gpu is missing\).*serve the page over https or from localhost/);
    expect(r.info).toMatchObject({ backend: 'cpu', fallbackReason: r.error?.message });
    expect(r.text.length).toBeGreaterThan(0);
  });
});
