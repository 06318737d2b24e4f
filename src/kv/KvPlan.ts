import { InvalidParamsError, mib, WebGpuUnavailableError } from '../errors.ts';

/** The model dimensions that size a KV block (a ModelConfig has them). */
export interface KvShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

/** How big a paged KV cache to allocate, as a user asks for it. */
export interface KvSizeOptions {
  /** Tokens per block; 16 by default. */
  blockSize?: number;
  /** An explicit block count; wins over memoryBudgetBytes. */
  maxBlocks?: number;
  /** Bytes for K and V of all layers together; the block count is what fits. 64 MiB by default. */
  memoryBudgetBytes?: number;
}

export const DEFAULT_BLOCK_SIZE = 16;
export const DEFAULT_KV_BUDGET_BYTES = 64 * 1024 * 1024;


export interface KvPlan {
  blockSize: number;
  numBlocks: number;
  /** Bytes of one block in one pool (one layer, K or V). */
  blockBytes: number;
  /** Bytes of one pool buffer (one layer, K or V). */
  poolBytes: number;
}

/**
 * How many KV blocks to allocate, for both backends. On WebGPU each layer's K pool and V pool
 * is its own buffer, so a pool must fit one binding (`maxBufferBytes`; a layer's pool is never
 * split): an explicit count that does not fit is refused with the largest that would, and a
 * budget is capped at what one binding holds.
 */
export function planKvCache(c: KvShape, opts: KvSizeOptions, maxBufferBytes = Infinity): KvPlan {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 256) {
    throw new InvalidParamsError('kv.blockSize', `must be an integer from 1 to 256, got ${blockSize}`);
  }
  const blockBytes = c.numKvHeads * blockSize * c.headDim * 4;
  const maxBlocks = Math.floor(maxBufferBytes / blockBytes);
  let numBlocks: number;
  if (opts.maxBlocks !== undefined) {
    numBlocks = opts.maxBlocks;
    if (!Number.isInteger(numBlocks) || numBlocks <= 0) {
      throw new InvalidParamsError('kv.maxBlocks', `must be a positive integer, got ${numBlocks}`);
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
    if (!(budget > 0)) throw new InvalidParamsError('kv.memoryBudgetBytes', `must be > 0, got ${budget}`);
    const perBlockAllLayers = 2 * c.numLayers * blockBytes;
    numBlocks = Math.min(Math.floor(budget / perBlockAllLayers), maxBlocks);
    if (numBlocks < 1) {
      throw new InvalidParamsError(
        'kv.memoryBudgetBytes',
        `${mib(budget)} MiB does not hold one KV block (${mib(perBlockAllLayers)} MiB over all layers at block size ${blockSize})`,
      );
    }
  }
  return { blockSize, numBlocks, blockBytes, poolBytes: numBlocks * blockBytes };
}
