import type { ModelWeights } from '../model/weights.ts';
import { benchEngine, idTokenizer, runRequest } from './engines.ts';
import { prng } from './stats.ts';

export interface NSamplingRow {
  label: string;
  peakBlocks: number;
  wallMs: number;
}

export interface NSamplingResult {
  promptTokens: number;
  maxTokens: number;
  blockSize: number;
  rows: NSamplingRow[];
  /** What 4 sequences of prompt + output would take with nothing shared. */
  unsharedBlocks: number;
}

/**
 * Peak KV blocks held by one n=4 request (the prompt prefilled once, then forked with
 * copy-on-write) against 4 separate requests with the same prompt submitted together (which
 * Folio's prefix cache may share once the first one's prompt blocks are filled), and 4 requests
 * of the same length that share nothing. Peak = the most blocks held when any forward ran.
 * Sampling at temperature 1 with a seed, so the 4 continuations differ.
 */
export async function benchNSampling(weights: ModelWeights, promptTokens: number, maxTokens: number, log: (m: string) => void): Promise<NSamplingResult> {
  const { engine, timed, dispose } = await benchEngine({ weights, tokenizer: idTokenizer(), backend: 'webgpu', numBlocks: 512, name: 'stories260K' });
  const vocab = weights.config.vocabSize;
  const rand = prng(0x4444);
  const ids = () => Array.from({ length: promptTokens }, () => 4 + Math.floor(rand() * (vocab - 4))).join(' ');
  const params = (prompt: string, n: number, seed: number) => ({ prompt, n, max_tokens: maxTokens, temperature: 1, seed });
  const measure = async (label: string, go: () => Promise<unknown>): Promise<NSamplingRow> => {
    timed.reset();
    const t0 = performance.now();
    await go();
    const wallMs = performance.now() - t0;
    const peakBlocks = Math.max(...timed.records.map((r) => r.blocksUsed));
    log(`n=4: ${label}: peak ${peakBlocks} blocks`);
    return { label, peakBlocks, wallMs };
  };
  try {
    await runRequest(engine, params(ids(), 4, 1)); // warm-up
    const rows: NSamplingRow[] = [];
    const p1 = ids();
    rows.push(await measure('one request, n=4', () => runRequest(engine, params(p1, 4, 1))));
    const p2 = ids();
    rows.push(await measure('4 requests, same prompt', () => Promise.all([0, 1, 2, 3].map((i) => runRequest(engine, params(p2, 1, i))))));
    rows.push(await measure('4 requests, different prompts', () => Promise.all([0, 1, 2, 3].map((i) => runRequest(engine, params(ids(), 1, i))))));
    const bs = engine.backend.blockSize;
    return { promptTokens, maxTokens, blockSize: bs, rows, unsharedBlocks: 4 * Math.ceil((promptTokens + maxTokens - 1) / bs) };
  } finally {
    dispose();
  }
}
