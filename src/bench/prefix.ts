import type { ModelWeights } from '../model/weights.ts';
import { benchEngine, idTokenizer, runRequest } from './engines.ts';
import { median, prng } from './stats.ts';

/**
 * Where a request's shared prefix comes from. 'cold' and 'gpu' are measured; 'idb' (blocks
 * restored from IndexedDB after a reload) is being built elsewhere and is left unmeasured here:
 * add a PrefixSource implementation and list it in PREFIX_COLUMNS to fill that column.
 */
export type PrefixColumn = 'cold' | 'gpu' | 'idb';

export const PREFIX_COLUMNS: { id: PrefixColumn; title: string; measured: boolean }[] = [
  { id: 'cold', title: 'cold (no prefix cached)', measured: true },
  { id: 'gpu', title: 'warm (GPU prefix cache)', measured: true },
  { id: 'idb', title: 'after a reload (IndexedDB)', measured: false },
];

export interface PrefixOptions {
  modelName: string;
  weights: ModelWeights;
  promptTokens: number;
  /** Fraction of the prompt shared with the earlier request. */
  shared: number;
  repeats: number;
  numBlocks: number;
  /** Called between phases, for progress lines. */
  log: (msg: string) => void;
}

export interface PrefixResult {
  model: string;
  promptTokens: number;
  sharedTokens: number;
  /** Per column, TTFT of each repeat (ms); null where not measured. */
  ttftMs: Record<PrefixColumn, number[] | null>;
  medianMs: Record<PrefixColumn, number | null>;
  /** Cached prompt tokens the warm request reported (usage.prompt_tokens_details). */
  cachedTokens: number;
  /** cold / warm, medians. */
  speedup: number;
  /** Compute dispatches per forward (counted on the WebGPU prototypes); null when not counted. */
  dispatchesPerForward: number | null;
}

function ids(rand: () => number, n: number, vocab: number): number[] {
  // Never 0..3: keeps clear of special ids.
  return Array.from({ length: n }, () => 4 + Math.floor(rand() * (vocab - 4)));
}

/**
 * TTFT of a request whose prompt shares `shared` of its tokens with an earlier one, cold
 * (nothing cached: a prompt of the same length that shares nothing) and warm (the earlier
 * request's blocks are in the GPU prefix cache). Exact token prompts through idTokenizer;
 * greedy, max_tokens 1. The first request of the engine warms pipelines and buffers and is not
 * counted. Cold and warm alternate within each repeat so that drifting load hits both alike.
 */
export async function benchPrefix(o: PrefixOptions): Promise<PrefixResult> {
  const vocab = o.weights.config.vocabSize;
  const { engine, timed, dispose } = await benchEngine({ weights: o.weights, tokenizer: idTokenizer(), backend: 'webgpu', numBlocks: o.numBlocks, name: o.modelName });
  try {
    const rand = prng(0xf011);
    const text = (t: number[]) => t.join(' ');
    const ask = (t: number[]) => runRequest(engine, { prompt: text(t), max_tokens: 1, temperature: 0 });
    o.log(`${o.modelName}: warm-up request (${o.promptTokens} tokens)`);
    await ask(ids(rand, o.promptTokens, vocab));
    const sharedTokens = Math.round(o.promptTokens * o.shared);
    const cold: number[] = [];
    const warm: number[] = [];
    let cachedTokens = 0;
    for (let r = 0; r < o.repeats; r++) {
      const a = ids(rand, o.promptTokens, vocab);
      const b = [...a.slice(0, sharedTokens), ...ids(rand, o.promptTokens - sharedTokens, vocab)];
      const first = await ask(a); // nothing of `a` is cached: a cold prefill of the same length
      const second = await ask(b);
      cold.push(first.ttftMs);
      warm.push(second.ttftMs);
      cachedTokens = second.cachedTokens;
      o.log(`${o.modelName}: repeat ${r + 1}/${o.repeats}: cold ${first.ttftMs.toFixed(1)} ms, warm ${second.ttftMs.toFixed(1)} ms (${second.cachedTokens} cached)`);
    }
    const medianMs = { cold: median(cold), gpu: median(warm), idb: null };
    return {
      model: o.modelName,
      promptTokens: o.promptTokens,
      sharedTokens,
      ttftMs: { cold, gpu: warm, idb: null },
      medianMs,
      cachedTokens,
      speedup: medianMs.cold / medianMs.gpu,
      dispatchesPerForward: timed.records.length > 0 && timed.records[0].dispatches > 0 ? median(timed.records.map((x) => x.dispatches)) : null,
    };
  } finally {
    dispose();
  }
}
