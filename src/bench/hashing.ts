import { CpuBackend } from '../cpu/CpuBackend.ts';
import { hashBlock, saltDigest } from '../kv/hash.ts';
import { KvCache } from '../kv/KvCache.ts';
import type { ModelWeights } from '../model/weights.ts';
import { median, prng } from './stats.ts';

export interface HashResult {
  promptTokens: number;
  /** PrefixCache.extend over a fresh chain: hashing every full block, ns per token. */
  extendNsPerToken: number;
  /** PrefixCache.lookup on an empty cache (hash + map probe of the first block), ns per token. */
  lookupNsPerToken: number;
  /** hashBlock alone, ns per token. */
  hashBlockNsPerToken: number;
  /** One decode step of the CPU reference backend on the given model, ms. */
  cpuDecodeStepMs: number;
}

function timeNs(repeats: number, fn: () => void): number {
  const xs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    xs.push(Number(process.hrtime.bigint() - t0));
  }
  return median(xs);
}

/** The prefix cache's hashing cost per token, and a CPU decode step to compare it with. */
export function benchHashing(weights: ModelWeights, promptTokens = 32768, repeats = 25): HashResult {
  const rand = prng(99);
  const tokens = Array.from({ length: promptTokens }, () => Math.floor(rand() * 50000));
  const kv = new KvCache({ numBlocks: 8, modelFingerprint: 'bench' });
  const bs = kv.blockSize;
  // JIT warm-up.
  for (let i = 0; i < 3; i++) kv.prefix.extend(kv.prefix.newChain(), tokens);
  const extend = timeNs(repeats, () => kv.prefix.extend(kv.prefix.newChain(), tokens));
  const lookup = timeNs(repeats, () => kv.prefix.lookup(kv.prefix.newChain(), tokens));
  const salt = saltDigest('bench');
  const raw = timeNs(repeats, () => {
    let parent: string | null = null;
    for (let i = 0; i + bs <= tokens.length; i += bs) parent = hashBlock(parent, salt, tokens, i, i + bs);
  });

  const cpu = new CpuBackend(weights, { blockSize: bs, numBlocks: 16 });
  const prompt = Array.from({ length: 64 }, (_, i) => 4 + (i % 100));
  const table = [0, 1, 2, 3, 4];
  void cpu.forward({ chunks: [{ tokens: prompt, startPos: 0, blockTable: table.slice(0, 4) }], logits: 'last' });
  const steps: number[] = [];
  for (let r = 0; r < 30; r++) {
    const t0 = performance.now();
    void cpu.forward({ chunks: [{ tokens: [7], startPos: 64, blockTable: table }], logits: 'last' });
    steps.push(performance.now() - t0);
  }
  cpu.dispose();
  return {
    promptTokens,
    extendNsPerToken: extend / promptTokens,
    lookupNsPerToken: lookup / promptTokens,
    hashBlockNsPerToken: raw / promptTokens,
    cpuDecodeStepMs: median(steps),
  };
}
