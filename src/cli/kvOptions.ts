import { InvalidParamsError } from '../errors.ts';
import { type EvictionPolicy, USER_POLICIES } from '../kv/eviction/KvLimit.ts';
import type { KvDefaults } from '../engine/kvRequest.ts';

/**
 * `--kv-budget N [--kv-policy P] [--context-shift]` as the request's KV options; a budget shifts
 * the context too (generation goes on past the model's context, as `--max-tokens 4096` on a
 * 512-token model needs). Undefined when none is given: the plain loop, refusing past the context.
 */
export function kvOptions(budget: string | undefined, policy: string | undefined, shift: boolean | undefined): KvDefaults | undefined {
  if (budget === undefined && policy === undefined && !shift) return undefined;
  const budgetTokens = budget === undefined ? undefined : Number(budget);
  if (budgetTokens !== undefined && (!Number.isInteger(budgetTokens) || budgetTokens < 1)) throw new InvalidParamsError('kv-budget', `must be an integer >= 1, got ${JSON.stringify(budget)}`);
  if (policy !== undefined && !(USER_POLICIES as readonly string[]).includes(policy)) {
    throw new InvalidParamsError('kv-policy', `must be one of ${USER_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  if (policy !== undefined && policy !== 'none' && budgetTokens === undefined) throw new InvalidParamsError('kv-policy', 'needs --kv-budget');
  return { budgetTokens, policy: policy as EvictionPolicy | undefined, overflow: budgetTokens !== undefined || shift ? 'shift' : 'refuse' };
}
