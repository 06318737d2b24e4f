import { isInt, isRecord, isString, shown } from '../api/paramChecks.ts';
import { InvalidParamsError } from '../errors.ts';

export type SpeculativeMethod = 'ngram' | 'draft';

/** How a request speculates: its drafter and the most tokens drafted per step (adaptiveK.ts moves below it). */
export interface SpeculativeOption {
  method: SpeculativeMethod;
  k: number;
}

/** `speculative` as a request or createEngine gives it. */
export interface SpeculativeParam {
  method: SpeculativeMethod;
  k?: number;
  draft_model?: string;
}

export const DEFAULT_K = 4;
export const MAX_K = 16;

/** What the engine offers: its default for requests that say nothing, and its draft model's name if one is loaded. */
export interface SpeculativeLimits {
  default: SpeculativeOption | null;
  /** null: no draft model loaded, so method 'draft' is refused. */
  draftModel: string | null;
}

/**
 * Reads `{method: 'ngram' | 'draft', k?, draft_model?}` (a request's `speculative`, or the
 * engine's default), refusing bad values by name under `field`. 'draft' needs the draft model
 * loaded; `draft_model`, when given, must name it.
 */
export function parseSpeculative(raw: unknown, draftModel: string | null, field = 'speculative'): SpeculativeOption {
  if (!isRecord(raw)) throw new InvalidParamsError(field, `must be an object {method: 'ngram' | 'draft', k?, draft_model?}, got ${shown(raw)}`);
  for (const key of Object.keys(raw)) {
    if (key !== 'method' && key !== 'k' && key !== 'draft_model') throw new InvalidParamsError(`${field}.${key}`, 'is not a known option');
  }
  const method = raw.method;
  if (method !== 'ngram' && method !== 'draft') throw new InvalidParamsError(`${field}.method`, `must be 'ngram' or 'draft', got ${shown(method)}`);
  const k = raw.k ?? DEFAULT_K;
  if (!isInt(k) || k < 1 || k > MAX_K) throw new InvalidParamsError(`${field}.k`, `must be an integer from 1 to ${MAX_K}, got ${shown(k)}`);
  const name = raw.draft_model ?? undefined;
  if (name !== undefined && !isString(name)) throw new InvalidParamsError(`${field}.draft_model`, `must be a string, got ${shown(name)}`);
  if (name !== undefined && method !== 'draft') throw new InvalidParamsError(`${field}.draft_model`, "is only for method 'draft'");
  if (method === 'draft') {
    if (draftModel === null) throw new InvalidParamsError(`${field}.method`, "'draft' needs a draft model loaded with the engine (the engine option speculative.draftModel, the CLI's --draft-model); none is");
    if (name !== undefined && name !== draftModel) throw new InvalidParamsError(`${field}.draft_model`, `is "${name}", but the engine's draft model is "${draftModel}"`);
  }
  return { method, k };
}

/** What a request asks for that speculation does not support yet, by parameter name; null when it may speculate. */
export interface SpeculationBlockers {
  grammar: boolean;
  penalties: boolean;
  logitBias: boolean;
  logprobs: boolean;
  repetitionPenalty: boolean;
  kvLimit: boolean;
}

const BLOCKER_NAMES: Record<keyof SpeculationBlockers, string> = {
  grammar: 'a grammar (response_format, grammar, tools)',
  penalties: 'frequency_penalty / presence_penalty',
  logitBias: 'logit_bias',
  logprobs: 'logprobs',
  repetitionPenalty: 'repetition_penalty',
  kvLimit: 'a KV budget or context_overflow: shift',
};

/**
 * The request's speculation: its own `speculative` (false: none; refused with what blocks it),
 * or else the engine's default where nothing blocks it (a blocked request then decodes plainly).
 * Verification compares the target's distribution before these adjustments, so they are not
 * combined yet.
 */
export function speculationOf(raw: unknown, limits: SpeculativeLimits, blockers: SpeculationBlockers): SpeculativeOption | null {
  if (raw === false) return null;
  const blocker = (Object.keys(blockers) as (keyof SpeculationBlockers)[]).find((b) => blockers[b]);
  if (raw === undefined || raw === null) return blocker ? null : limits.default;
  const option = parseSpeculative(raw, limits.draftModel);
  if (blocker) throw new InvalidParamsError('speculative', `cannot be combined with ${BLOCKER_NAMES[blocker]} yet: drop one of them`);
  return option;
}
