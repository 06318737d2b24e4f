import type { SamplingParams } from '../sampling/SamplingParams.ts';

/** What `folio generate` asks of a backend. */
export interface GenerateRequest {
  model: string;
  prompt: string;
  addBos: boolean;
  maxTokens: number;
  /** Generate past end-of-sequence tokens (as reference runs that compare ids do). */
  ignoreEos?: boolean;
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
