import type { CopyPair } from './BlockTable.ts';

/**
 * What a step's copy plan may contain, for every backend: the copies are a set, not a
 * sequence. No block is copied to twice, and no block is both copied from and copied to, so
 * every copy reads a block's content from before the step and any order gives the same result:
 * the CPU runs them one by one, the GPU all in one dispatch. Ids lie in [0, numBlocks).
 *
 * The scheduler keeps it: a destination is always a block just taken from the free queue,
 * and while a step is planned the pool never takes a block that one of its copies reads as a
 * destination (src/kv/BlockPool.ts, stepReads). Both backends refuse a plan that breaks it (a
 * bug) rather than each running it its own way.
 *
 * Returns why `pairs` breaks it, or null.
 */
export function copyPlanViolation(pairs: ReadonlyArray<CopyPair>, numBlocks: number): string | null {
  const srcs = new Set<number>();
  for (const [s, d] of pairs) {
    for (const id of [s, d]) {
      if (!Number.isInteger(id) || id < 0 || id >= numBlocks) return `block id ${id} is outside the cache (${numBlocks} blocks)`;
    }
    srcs.add(s);
  }
  const dsts = new Set<number>();
  for (const [, d] of pairs) {
    if (srcs.has(d)) return `block ${d} is both copied from and copied to in one step`;
    if (dsts.has(d)) return `block ${d} is copied to twice in one step`;
    dsts.add(d);
  }
  return null;
}
