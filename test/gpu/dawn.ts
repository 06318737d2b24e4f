import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

/**
 * Dawn's GPU object for Node tests (SwiftShader when run with LD_LIBRARY_PATH=/usr/lib/chromium
 * and VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json). It also installs the WebGPU
 * globals (GPUBufferUsage, GPUMapMode, ...) that browsers provide.
 */
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
