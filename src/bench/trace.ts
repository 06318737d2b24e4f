import { normal, prng } from './stats.ts';

/**
 * A seeded request trace with log-normal prompt and output lengths.
 *
 * Why log-normal, and these parameters: chat traces are right-skewed, most turns short and a
 * long tail of pasted documents and long answers. Published means: ShareGPT as used in the vLLM
 * paper (Kwon et al., SOSP 2023), ~161 input and ~338 output tokens; LMSYS-Chat-1M (Zheng et
 * al., 2023), ~69.5 prompt and ~214.5 response tokens per turn. The defaults put the medians at
 * 100 (prompt) and 180 (output) tokens with sigmas 1.2 and 0.9, i.e. means of ~205 and ~270,
 * between those two, with the tail clipped at 1024 each so that a request fits a 2048 context.
 */
export interface TraceParams {
  requests: number;
  seed: number;
  promptMedian: number;
  promptSigma: number;
  outputMedian: number;
  outputSigma: number;
  minLen: number;
  maxPrompt: number;
  maxOutput: number;
}

export const DEFAULT_TRACE: TraceParams = {
  requests: 1500,
  seed: 1,
  promptMedian: 100,
  promptSigma: 1.2,
  outputMedian: 180,
  outputSigma: 0.9,
  minLen: 4,
  maxPrompt: 1024,
  maxOutput: 1024,
};

export interface TraceRequest {
  id: string;
  prompt: number[];
  outputTokens: number;
}

function lognormal(rand: () => number, median: number, sigma: number, lo: number, hi: number): number {
  const x = Math.round(median * Math.exp(sigma * normal(rand)));
  return Math.min(hi, Math.max(lo, x));
}

/** Distinct random prompts (no shared prefixes: the replay measures paging alone). */
export function makeTrace(p: TraceParams): TraceRequest[] {
  const rand = prng(p.seed);
  const out: TraceRequest[] = [];
  for (let i = 0; i < p.requests; i++) {
    const promptLen = lognormal(rand, p.promptMedian, p.promptSigma, p.minLen, p.maxPrompt);
    const outputTokens = lognormal(rand, p.outputMedian, p.outputSigma, p.minLen, p.maxOutput);
    const prompt = Array.from({ length: promptLen }, () => 4 + Math.floor(rand() * 32000));
    out.push({ id: `r${i}`, prompt, outputTokens });
  }
  return out;
}

export function traceSummary(t: readonly TraceRequest[]): { promptMean: number; outputMean: number; promptP50: number; outputP50: number; promptP99: number; outputP99: number } {
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(f * xs.length))];
  const p = t.map((r) => r.prompt.length);
  const o = t.map((r) => r.outputTokens);
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { promptMean: m(p), outputMean: m(o), promptP50: q(p, 0.5), outputP50: q(o, 0.5), promptP99: q(p, 0.99), outputP99: q(o, 0.99) };
}
