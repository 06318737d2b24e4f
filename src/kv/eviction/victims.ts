import type { EvictionPolicy } from './KvLimit.ts';

/**
 * The table indices of the blocks to evict: `count` of the candidates [first, end) (the full
 * blocks after the sinks and before the protected recent ones), ascending.
 * 'window' takes the oldest; 'paged-eviction' the lowest scores (an unscored block, NaN, is
 * kept while a scored one can go; ties go to the older block, so the choice is deterministic);
 * 'random' draws uniformly.
 */
export function chooseVictims(
  policy: EvictionPolicy,
  first: number,
  end: number,
  count: number,
  scoreOf: (index: number) => number,
  random?: () => number,
): number[] {
  const candidates: number[] = [];
  for (let i = first; i < end; i++) candidates.push(i);
  if (count > candidates.length) throw new RangeError(`cannot evict ${count} of ${candidates.length} candidate blocks`);
  if (count <= 0) return [];
  let chosen: number[];
  switch (policy) {
    case 'window':
      chosen = candidates.slice(0, count);
      break;
    case 'paged-eviction': {
      const key = (i: number) => {
        const s = scoreOf(i);
        return Number.isNaN(s) ? Infinity : s;
      };
      chosen = [...candidates].sort((a, b) => key(a) - key(b) || a - b).slice(0, count);
      break;
    }
    case 'random': {
      if (!random) throw new Error("the 'random' policy needs a random source");
      const left = [...candidates];
      chosen = [];
      for (let k = 0; k < count; k++) chosen.push(left.splice(Math.min(left.length - 1, Math.floor(random() * left.length)), 1)[0]);
      break;
    }
    case 'none':
      throw new Error("policy 'none' evicts nothing");
  }
  return chosen.sort((a, b) => a - b);
}

/**
 * Blocks a context shift drops, oldest first after the sinks, out of `droppable`: none when
 * re-rotating the kept keys to contiguous positions leaves room for `need` more tokens, else
 * enough for them and at least half of the droppable ones (llama.cpp's n_discard), so that
 * shifts stay rare.
 */
export function shiftDropCount(numTokens: number, droppable: number, need: number, maxLen: number, blockSize: number): number {
  const room = maxLen - numTokens;
  if (room >= need) return 0;
  const least = Math.ceil((need - room) / blockSize);
  return Math.min(droppable, Math.max(least, Math.floor(droppable / 2)));
}
