import { InvalidParamsError, WebGpuUnavailableError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { mib } from './device.ts';

export interface KvCacheOptions {
  blockSize: number;
  /** An explicit block count; wins over memoryBudgetBytes. */
  numBlocks?: number;
  /** Bytes for all K and V pools together; the block count is what fits. */
  memoryBudgetBytes?: number;
}

/** Used when neither a block count nor a budget is given. */
export const DEFAULT_KV_BUDGET_BYTES = 256 * 1024 * 1024;

export interface KvPlan {
  numBlocks: number;
  /** Bytes of one block in one pool (one layer, K or V). */
  blockBytes: number;
  /** Bytes of one pool buffer (one layer, K or V). */
  poolBytes: number;
}

/**
 * How many KV blocks to allocate. Each layer's K pool and V pool is its own buffer, so a pool
 * must fit one storage binding; a single layer's pool is never split across buffers. With an
 * explicit count that does not fit, it refuses and says the largest count that would; with a
 * budget, it caps the count at what one binding holds.
 */
export function planKvCache(c: ModelConfig, opts: KvCacheOptions, maxBufferBytes: number): KvPlan {
  const { blockSize } = opts;
  if (!Number.isInteger(blockSize) || blockSize <= 0) {
    throw new InvalidParamsError('blockSize', `must be a positive integer, got ${blockSize}`);
  }
  const blockBytes = c.numKvHeads * blockSize * c.headDim * 4;
  const maxBlocks = Math.floor(maxBufferBytes / blockBytes);
  let numBlocks: number;
  if (opts.numBlocks !== undefined) {
    numBlocks = opts.numBlocks;
    if (!Number.isInteger(numBlocks) || numBlocks <= 0) {
      throw new InvalidParamsError('numBlocks', `must be a positive integer, got ${numBlocks}`);
    }
    if (numBlocks > maxBlocks) {
      throw new WebGpuUnavailableError(
        `the KV cache needs a buffer of ${mib(numBlocks * blockBytes)} MiB per layer (for K, and as much for V) ` +
          `but this GPU allows ${mib(maxBufferBytes)} MiB per buffer; ask for at most ${maxBlocks} blocks ` +
          `(${maxBlocks * blockSize} tokens)`,
      );
    }
  } else {
    const budget = opts.memoryBudgetBytes ?? DEFAULT_KV_BUDGET_BYTES;
    const perBlockAllLayers = 2 * c.numLayers * blockBytes;
    numBlocks = Math.min(Math.floor(budget / perBlockAllLayers), maxBlocks);
    if (numBlocks < 1) {
      throw new InvalidParamsError(
        'memoryBudgetBytes',
        `${mib(budget)} MiB does not hold one KV block (${mib(perBlockAllLayers)} MiB over all layers at block size ${blockSize})`,
      );
    }
  }
  return { numBlocks, blockBytes, poolBytes: numBlocks * blockBytes };
}
