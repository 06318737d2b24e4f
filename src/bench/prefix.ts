import type { Engine } from '../engine/Engine.ts';
import type { ModelWeights } from '../model/weights.ts';
import { MemoryStore } from '../storage/KeyValueStore.ts';
import { KvBlockStore } from '../storage/KvBlockStore.ts';
import { benchEngine, idTokenizer, runRequest } from './engines.ts';
import { median, prng } from './stats.ts';

/**
 * Where a request's shared prefix comes from: nowhere ('cold'), the GPU prefix cache ('gpu'),
 * or, after a reload, the prefix store ('store'): a new engine with an empty device KV whose
 * prompt's blocks are read from the store, checked and uploaded.
 */
export type PrefixColumn = 'cold' | 'gpu' | 'store';

/** The prefix store in Node: what the 'store' column's number includes, and what it does not. */
export const STORE_NOTE = 'restored from the prefix store (in-memory KeyValueStore in Node; IndexedDB in a browser adds its read time)';

export const PREFIX_COLUMNS: { id: PrefixColumn; title: string; short: string }[] = [
  { id: 'cold', title: 'cold (no prefix cached)', short: 'cold (no prefix cached)' },
  { id: 'gpu', title: 'warm (GPU prefix cache)', short: 'warm (GPU prefix cache)' },
  { id: 'store', title: `after a reload: ${STORE_NOTE}`, short: 'after a reload (prefix store, in memory)' },
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
  /** Per column, TTFT of each repeat (ms). */
  ttftMs: Record<PrefixColumn, number[]>;
  medianMs: Record<PrefixColumn, number>;
  /** Cached prompt tokens the warm request reported (usage.prompt_tokens_details). */
  cachedTokens: number;
  /** Cached prompt tokens the request after the reload reported, per repeat: the restored blocks' tokens. */
  restoredCachedTokens: number[];
  /** Blocks the first engine wrote to the store, and the new engine restored from it, per repeat. */
  storedBlocks: number[];
  restoredBlocks: number[];
  /** Of the restored TTFT: uploading the restored blocks (writeBlocks, until the queue has done it), median ms. */
  uploadMs: number | null;
  /** cold / warm, and cold / restored, medians. */
  speedup: number;
  storeSpeedup: number;
  /** Compute dispatches per forward (counted on the WebGPU prototypes); null when not counted. */
  dispatchesPerForward: number | null;
}

function ids(rand: () => number, n: number, vocab: number): number[] {
  // Never 0..3: keeps clear of special ids.
  return Array.from({ length: n }, () => 4 + Math.floor(rand() * (vocab - 4)));
}

/**
 * TTFT of a request whose prompt shares `shared` of its tokens with an earlier one: cold
 * (nothing cached: a prompt of the same length that shares nothing), warm (the earlier
 * request's blocks are in the GPU prefix cache), and after a reload (the blocks were persisted
 * to the prefix store; a new engine, whose device KV holds nothing, reads them back, checks and
 * uploads them inside the request's TTFT). Exact token prompts through idTokenizer; greedy,
 * max_tokens 1.
 *
 * Each repeat: engine A, with a fresh prefix store, serves `a` (cold) then `b` sharing its
 * prefix (warm); the shared blocks reach the persistence threshold (2 prompts) and are written
 * to the store (awaited with flushStorage, outside any timing). Then engine B, new, over the
 * same backend and a new KvBlockStore on the same KeyValueStore (a reload: its index is read
 * from the store on first use), serves `c`: the shared prefix with a new tail. A and B share
 * the backend (its weights and pipelines stay loaded; B's fresh block table never references
 * A's KV), so the three columns differ only in where the prefix comes from. The first round
 * warms pipelines and buffers and is not counted.
 */
export async function benchPrefix(o: PrefixOptions): Promise<PrefixResult> {
  const vocab = o.weights.config.vocabSize;
  const { timed, newEngine, dispose } = await benchEngine({ weights: o.weights, tokenizer: idTokenizer(), backend: 'webgpu', numBlocks: o.numBlocks, name: o.modelName });
  try {
    const rand = prng(0xf011);
    const text = (t: number[]) => t.join(' ');
    const ask = (e: Engine, t: number[]) => runRequest(e, { prompt: text(t), max_tokens: 1, temperature: 0 });
    const sharedTokens = Math.round(o.promptTokens * o.shared);
    const round = async () => {
      const a = ids(rand, o.promptTokens, vocab);
      const b = [...a.slice(0, sharedTokens), ...ids(rand, o.promptTokens - sharedTokens, vocab)];
      const c = [...a.slice(0, sharedTokens), ...ids(rand, o.promptTokens - sharedTokens, vocab)];
      const kv = new MemoryStore();
      const engineA = newEngine({ prefixStore: new KvBlockStore(kv) });
      const cold = await ask(engineA, a); // nothing of `a` is cached: a cold prefill of the same length
      const warm = await ask(engineA, b);
      await engineA.flushStorage();
      const stored = engineA.stats().persistence?.blocksWritten ?? 0;
      // The reload: a new engine and a new block store over the same stored entries.
      const engineB = newEngine({ prefixStore: new KvBlockStore(kv) });
      const uploads = timed.writeMs.length;
      const store = await ask(engineB, c);
      const upload = timed.writeMs.slice(uploads).reduce((x, y) => x + y, 0);
      const restored = engineB.stats().persistence?.blocksRestored ?? 0;
      return { cold, warm, store, stored, restored, upload };
    };
    o.log(`${o.modelName}: warm-up round (${o.promptTokens}-token prompts: cold, warm, restored)`);
    await round();
    const cold: number[] = [];
    const warm: number[] = [];
    const store: number[] = [];
    const restoredCachedTokens: number[] = [];
    const storedBlocks: number[] = [];
    const restoredBlocks: number[] = [];
    const uploads: number[] = [];
    let cachedTokens = 0;
    for (let r = 0; r < o.repeats; r++) {
      const x = await round();
      cold.push(x.cold.ttftMs);
      warm.push(x.warm.ttftMs);
      store.push(x.store.ttftMs);
      cachedTokens = x.warm.cachedTokens;
      restoredCachedTokens.push(x.store.cachedTokens);
      storedBlocks.push(x.stored);
      restoredBlocks.push(x.restored);
      if (x.restored > 0) uploads.push(x.upload);
      o.log(
        `${o.modelName}: repeat ${r + 1}/${o.repeats}: cold ${x.cold.ttftMs.toFixed(1)} ms, warm ${x.warm.ttftMs.toFixed(1)} ms (${x.warm.cachedTokens} cached), ` +
          `after reload ${x.store.ttftMs.toFixed(1)} ms (${x.stored} blocks stored, ${x.restored} restored, ${x.store.cachedTokens} cached, upload ${x.upload.toFixed(1)} ms)`,
      );
    }
    const medianMs = { cold: median(cold), gpu: median(warm), store: median(store) };
    return {
      model: o.modelName,
      promptTokens: o.promptTokens,
      sharedTokens,
      ttftMs: { cold, gpu: warm, store },
      medianMs,
      cachedTokens,
      restoredCachedTokens,
      storedBlocks,
      restoredBlocks,
      uploadMs: uploads.length > 0 ? median(uploads) : null,
      speedup: medianMs.cold / medianMs.gpu,
      storeSpeedup: medianMs.cold / medianMs.store,
      dispatchesPerForward: timed.records.length > 0 && timed.records[0].dispatches > 0 ? median(timed.records.map((x) => x.dispatches)) : null,
    };
  } finally {
    dispose();
  }
}
