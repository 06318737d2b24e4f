import { ContextLengthError, InvalidParamsError, KvCacheFullError } from '../errors.ts';
import { blocksFor } from '../kv/batch.ts';
import { type KvLimit, maxHeldBlocks } from '../kv/eviction/KvLimit.ts';

export interface AddRequest<P> {
  id: string;
  prompt: readonly number[];
  maxTokens: number;
  params: P;
  /** A user's cache salt: prefixes are shared only between requests with the same salt. */
  cacheSalt?: string;
  /** Groups the sequences of one request; the id by default. */
  requestId?: string;
  /** KV budget, eviction policy and context overflow; none by default (NO_LIMIT). */
  kv?: KvLimit;
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
  const kv = req.kv;
  const shifts = kv?.overflow === 'shift';
  if (kv && kv.budgetBlocks !== null && kv.policy === 'none') throw new InvalidParamsError('kv_policy', "a KV budget needs an eviction policy, not 'none'");
  if (kv && kv.budgetBlocks === null && kv.policy !== 'none') throw new InvalidParamsError('kv_budget_tokens', `policy '${kv.policy}' needs a KV budget`);
  if (!shifts && limits.maxModelLen !== undefined && req.prompt.length + req.maxTokens > limits.maxModelLen) {
    throw new ContextLengthError(req.prompt.length, req.maxTokens, limits.maxModelLen);
  }
  if (shifts && limits.maxModelLen !== undefined && (kv.sinkBlocks + 2) * limits.blockSize > limits.maxModelLen) {
    throw new InvalidParamsError('context_overflow', `a context of ${limits.maxModelLen} positions is too short to shift`);
  }
  if (kv && kv.budgetBlocks !== null && limits.maxModelLen !== undefined && shifts && (kv.budgetBlocks + 2) * limits.blockSize > limits.maxModelLen) {
    throw new InvalidParamsError('kv_budget_tokens', `must leave room for a block under the context of ${limits.maxModelLen} positions`);
  }
  // The last sampled token is never fed back, so its KV is never stored; a budget or a
  // context shift caps what is held.
  const contextBlocks = shifts && limits.maxModelLen !== undefined ? blocksFor(limits.maxModelLen, limits.blockSize) : Infinity;
  const worst = Math.min(blocksFor(req.prompt.length + req.maxTokens - 1, limits.blockSize), kv ? maxHeldBlocks(kv) : Infinity, contextBlocks);
  if (worst > limits.numBlocks) {
    throw new KvCacheFullError(`the request may need ${worst} KV blocks but the pool has ${limits.numBlocks}`);
  }
}
