import { createCpuBackend } from '../cpu/cpuKernels.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import { openSource } from '../model/ModelSource.ts';
import { pickWeights } from '../quant/quantizeModel.ts';
import { generateWith } from './generateLoop.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';

/** One sequence on the CPU backend in Node (WebAssembly SIMD, or with --cpu-kernels js the TypeScript oracle). */
export async function generateOnCpu(req: GenerateRequest, onText?: (text: string) => void): Promise<GenerateResult> {
  const model = await loadAnyModel(await openSource(req.model), {
    // 'auto' on the CPU: f32 (pickWeights without an adapter's limits).
    weights: (config) => (req.weights === 'auto' ? pickWeights(config, null).option : (req.weights ?? 'f32')),
  });
  return generateWith(model, async (weights, opts) => (await createCpuBackend(weights, opts, { kernels: req.cpuKernels })).backend, req, onText);
}
