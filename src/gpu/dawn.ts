/**
 * Node only: Dawn, through the `webgpu` package, for tests and benchmarks run in Node. Browsers
 * use navigator.gpu; nothing in the browser bundle (GpuBackend, the app, the workers) may import
 * this module, which would pull Dawn's native addon into it.
 *
 * On these machines Dawn finds SwiftShader only when the process starts with
 * LD_LIBRARY_PATH=/usr/lib/chromium and VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
 * (vitest.config.ts and scripts/bench.mjs set them).
 */
import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

/** Dawn's GPU object; the first call also installs the WebGPU globals (GPUBufferUsage, GPUMapMode, the GPU* classes) that browsers provide. */
export function dawnGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}

export async function dawnDevice(): Promise<GPUDevice> {
  const adapter = await dawnGpu().requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter: run with LD_LIBRARY_PATH=/usr/lib/chromium and VK_ICD_FILENAMES');
  return adapter.requestDevice();
}
