import type { WeightsChoice } from '../quant/quantizeModel.ts';
import type { SamplingParams } from '../sampling/SamplingParams.ts';

/** What `folio generate` asks of a backend. */
export interface GenerateRequest {
  model: string;
  prompt: string;
  addBos: boolean;
  maxTokens: number;
  /** Generate past end-of-sequence tokens (as reference runs that compare ids do). */
  ignoreEos?: boolean;
  /** `--weights`: a safetensors model's 2-D weights quantized on load; 'f32' (none) by default; 'auto' by the adapter's limits. */
  weights?: WeightsChoice;
  sampling: { [K in keyof SamplingParams]?: SamplingParams[K] | undefined };
}

export interface GenerateResult {
  promptIds: number[];
  generatedIds: number[];
  /** The decoded prompt and continuation, as llama2.c prints it. */
  text: string;
  /** The continuation alone. */
  completion: string;
}
