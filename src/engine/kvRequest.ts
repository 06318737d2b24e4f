import { isInt, isString, optional } from '../api/paramChecks.ts';
import { ContextLengthError, InvalidParamsError } from '../errors.ts';
import type { ForwardBackend } from './ForwardBackend.ts';
import { checkKvSupport } from './kvMoves.ts';
import { budgetBlocksOf, type ContextOverflow, type EvictionPolicy, type KvLimit, NO_LIMIT, USER_POLICIES } from '../kv/eviction/KvLimit.ts';

/** A request's KV options as given (OpenAI-style names); undefined: the engine's default. */
export interface KvRequest {
  budgetTokens: number | undefined;
  policy: EvictionPolicy | undefined;
  overflow: ContextOverflow | undefined;
}

/** The engine-wide defaults (EngineOptions.kv): no budget and 'refuse' unless set. */
export interface KvDefaults {
  /** KV tokens a request may hold besides the block being filled. */
  budgetTokens?: number;
  /** 'paged-eviction' by default when a budget is set. */
  policy?: EvictionPolicy;
  overflow?: ContextOverflow;
}

export const KV_PARAMS = ['kv_budget_tokens', 'kv_policy', 'context_overflow'] as const;

const isPolicy = (v: unknown): v is EvictionPolicy => isString(v) && (USER_POLICIES as readonly string[]).includes(v);
const isOverflow = (v: unknown): v is ContextOverflow => v === 'refuse' || v === 'shift';

/** Reads kv_budget_tokens, kv_policy and context_overflow, refusing bad values by name. */
export function parseKvRequest(p: Record<string, unknown>): KvRequest {
  const budgetTokens = optional(p, 'kv_budget_tokens', isInt, 'an integer >= 1');
  if (budgetTokens !== undefined && budgetTokens < 1) throw new InvalidParamsError('kv_budget_tokens', `must be >= 1, got ${budgetTokens}`);
  return {
    budgetTokens,
    policy: optional(p, 'kv_policy', isPolicy, `one of ${USER_POLICIES.map((x) => `'${x}'`).join(', ')}`),
    overflow: optional(p, 'context_overflow', isOverflow, "'refuse' or 'shift'"),
  };
}

/**
 * The request's KvLimit over the engine's defaults. A budget without a policy evicts by
 * 'paged-eviction'; a policy without a budget, or a budget with 'none', is refused by name.
 */
export function resolveKvLimit(req: KvRequest, defaults: KvDefaults, blockSize: number): KvLimit {
  const tokens = req.budgetTokens ?? (req.policy === 'none' ? undefined : defaults.budgetTokens);
  const overflow = req.overflow ?? defaults.overflow ?? 'refuse';
  if (tokens === undefined) {
    if (req.policy !== undefined && req.policy !== 'none') throw new InvalidParamsError('kv_policy', `'${req.policy}' needs kv_budget_tokens`);
    return overflow === 'refuse' ? NO_LIMIT : { ...NO_LIMIT, overflow };
  }
  const policy = req.policy ?? defaults.policy ?? 'paged-eviction';
  if (policy === 'none') throw new InvalidParamsError('kv_policy', "'none' keeps every token: give no kv_budget_tokens with it");
  const blocks = budgetBlocksOf(tokens, blockSize, NO_LIMIT.sinkBlocks, NO_LIMIT.recentBlocks);
  if (typeof blocks === 'string') throw new InvalidParamsError('kv_budget_tokens', blocks);
  return { ...NO_LIMIT, budgetBlocks: blocks, policy, overflow };
}

/**
 * max_tokens for a prompt (up to the end of the context when absent), refusing what the context
 * cannot hold unless the request shifts its context, which makes any length fit.
 */
export function maxTokensFor(promptLength: number, maxTokens: number | null, limit: KvLimit, context: number): number {
  const shifts = limit.overflow === 'shift';
  const max = maxTokens ?? Math.max(shifts ? 1 : 0, context - promptLength);
  if ((!shifts && promptLength + max > context) || max < 1) throw new ContextLengthError(promptLength, maxTokens ?? 0, context);
  return max;
}

/** A request's KvLimit over the engine's defaults, refused by name where `backend` cannot run it, and its max_tokens. */
export function kvForRequest(req: KvRequest, defaults: KvDefaults, backend: ForwardBackend, promptLength: number, maxTokens: number | null): { kv: KvLimit; maxTokens: number } {
  const kv = resolveKvLimit(req, defaults, backend.blockSize);
  checkKvSupport(kv, backend);
  return { kv, maxTokens: maxTokensFor(promptLength, maxTokens, kv, backend.config.maxPositions) };
}

/** The engine-wide defaults out of createEngine's `kv` option, checked now so that a bad one fails the load, not every request. */
export function kvDefaultsOf(opts: KvDefaults | undefined, blockSize: number): KvDefaults {
  const d: KvDefaults = { budgetTokens: opts?.budgetTokens, policy: opts?.policy, overflow: opts?.overflow };
  if (d.policy !== undefined && !isPolicy(d.policy)) throw new InvalidParamsError('kv.policy', `must be one of ${USER_POLICIES.join(', ')}, got ${JSON.stringify(d.policy)}`);
  if (d.overflow !== undefined && !isOverflow(d.overflow)) throw new InvalidParamsError('kv.overflow', `must be 'refuse' or 'shift', got ${JSON.stringify(d.overflow)}`);
  if (d.budgetTokens !== undefined && !isInt(d.budgetTokens)) throw new InvalidParamsError('kv.budgetTokens', `must be an integer, got ${JSON.stringify(d.budgetTokens)}`);
  resolveKvLimit({ budgetTokens: undefined, policy: undefined, overflow: undefined }, d, blockSize);
  return d;
}
