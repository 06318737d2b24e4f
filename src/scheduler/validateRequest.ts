import { ContextLengthError, InvalidParamsError, KvCacheFullError } from '../errors.ts';
import { blocksFor } from '../kv/batch.ts';

export interface AddRequest<P> {
  id: string;
  prompt: readonly number[];
  maxTokens: number;
  params: P;
  /** A user's cache salt: prefixes are shared only between requests with the same salt. */
  cacheSalt?: string;
  /** Groups the sequences of one request; the id by default. */
  requestId?: string;
}

export interface RequestLimits {
  blockSize: number;
  numBlocks: number;
  maxModelLen: number | undefined;
}

/**
 * Checks a request before anything is allocated. Refuses on KV space only if the request could
 * never fit, even alone in the whole pool: anything smaller is served, by preemption if need be.
 */
export function validateRequest(req: AddRequest<unknown>, limits: RequestLimits): void {
  if (req.prompt.length === 0 || !req.prompt.every((t) => Number.isInteger(t) && t >= 0)) {
    throw new InvalidParamsError('prompt', 'must be a non-empty array of token ids');
  }
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) {
    throw new InvalidParamsError('maxTokens', `must be a positive integer, got ${req.maxTokens}`);
  }
  if (limits.maxModelLen !== undefined && req.prompt.length + req.maxTokens > limits.maxModelLen) {
    throw new ContextLengthError(req.prompt.length, req.maxTokens, limits.maxModelLen);
  }
  // The last sampled token is never fed back, so its KV is never stored.
  const worst = blocksFor(req.prompt.length + req.maxTokens - 1, limits.blockSize);
  if (worst > limits.numBlocks) {
    throw new KvCacheFullError(`the request may need ${worst} KV blocks but the pool has ${limits.numBlocks}`);
  }
}
