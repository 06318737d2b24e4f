import type { BlockPool } from '../kv/BlockPool.ts';
import { type KvLimit, maxHeldBlocks } from '../kv/eviction/KvLimit.ts';
import type { Sequence } from './Sequence.ts';

/** What a sequence's KV limit allows its first step: prefix hits to adopt, and cache entries to hold after it. */
export interface AdmissionCap {
  hitBlocks: number;
  entries: number;
}

export const NO_CAP: AdmissionCap = { hitBlocks: Infinity, entries: Infinity };

/**
 * At admission a table is empty (nothing to evict yet): its first step may hold its budget plus
 * one block, and, when it shifts at the context, no more than the context; prefix hits past
 * that are left for the prompt's later chunks to recompute under eviction.
 */
export function admissionCap(kv: KvLimit, blockSize: number, maxModelLen: number | undefined): AdmissionCap {
  let blocks = maxHeldBlocks(kv);
  if (kv.overflow === 'shift' && maxModelLen !== undefined) blocks = Math.min(blocks, Math.floor(maxModelLen / blockSize));
  if (blocks === Infinity) return NO_CAP;
  // One hit block fewer than the cap, so the step computes at least one token in a block it owns.
  return { hitBlocks: blocks - 1, entries: Math.min(blocks * blockSize, maxModelLen ?? Infinity) };
}

/** Full blocks of running 'paged-eviction' sequences whose score is still unknown, each once. */
export function blocksToScore(running: readonly Sequence<unknown>[], pool: BlockPool): number[] {
  const out = new Set<number>();
  for (const seq of running) {
    if (seq.kv.policy !== 'paged-eviction') continue;
    const blocks = seq.table.blocks;
    for (let i = 0; i < seq.table.numFullBlocks; i++) if (Number.isNaN(pool.scoreOf(blocks[i]))) out.add(blocks[i]);
  }
  return [...out];
}
