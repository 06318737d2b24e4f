import { CpuBackend } from '../cpu/CpuBackend.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import { openSource } from '../model/ModelSource.ts';
import { pickWeights } from '../quant/quantizeModel.ts';
import { generateWith } from './generateLoop.ts';
import type { GenerateRequest, GenerateResult } from './GenerateRequest.ts';

/** One sequence on the reference CPU backend, in Node: the oracle path of the CLI. */
export async function generateOnCpu(req: GenerateRequest, onText?: (text: string) => void): Promise<GenerateResult> {
  const model = await loadAnyModel(await openSource(req.model), {
    // 'auto' on the CPU: f32 (it computes in f32 whatever the weights are stored as).
    weights: (config) => (req.weights === 'auto' ? pickWeights(config, null).option : (req.weights ?? 'f32')),
  });
  return generateWith(model, (weights, opts) => new CpuBackend(weights, opts), req, onText);
}
