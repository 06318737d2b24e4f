import type { LogitBias } from './logitBias.ts';
import { hasPenalties, type Penalties } from './penalties.ts';

/**
 * One choice's sparse logit changes for a step, as both the host and wgsl/logit_adjust.wgsl
 * apply them: per token, l = f32(f32(l - sub) + add) with sub (the penalties) and add (the bias)
 * already f32, one entry per token. A bias of -100 (-Infinity) is no adjustment but a ban: it
 * clears the token's bit in the row's mask, so that no logit ever becomes infinite on purpose
 * (the device reports infinite logits as a fault).
 */
export interface LogitAdjustments {
  tokens: Uint32Array;
  sub: Float32Array;
  add: Float32Array;
  banned: readonly number[];
}

/**
 * A token mask: bit (id % 32) of word (id / 32) set = token id allowed. ceil(vocab / 32) words,
 * the layout wgsl/logit_adjust.wgsl reads.
 */
export type TokenMask = Uint32Array;

/** What a masked-out logit becomes: the lowest finite f32 (wgsl/logit_adjust.wgsl's MASKED). */
export const MASKED_LOGIT = Math.fround(-3.4e38);

export const maskWords = (vocab: number): number => Math.ceil(vocab / 32);

export function allowed(mask: TokenMask, id: number): boolean {
  return ((mask[id >>> 5] >>> (id & 31)) & 1) === 1;
}

/**
 * OpenAI's penalties (over `generated`, this choice's output so far) and `logit_bias`, as one
 * entry per token; null when nothing changes.
 */
export function logitAdjustments(generated: readonly number[], p: Penalties, bias: LogitBias | null): LogitAdjustments | null {
  const sub = new Map<number, number>();
  if (hasPenalties(p)) {
    const counts = new Map<number, number>();
    for (const id of generated) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, count] of counts) sub.set(id, Math.fround(count * p.frequency + p.presence));
  }
  const add = new Map<number, number>();
  const banned: number[] = [];
  for (const [id, b] of bias ?? []) {
    if (b === -Infinity) banned.push(id);
    else add.set(id, Math.fround(b));
  }
  const ids = [...new Set([...sub.keys(), ...add.keys()])].filter((id) => !banned.includes(id)).sort((a, b) => a - b);
  if (ids.length === 0 && banned.length === 0) return null;
  return {
    tokens: Uint32Array.from(ids),
    sub: Float32Array.from(ids, (id) => sub.get(id) ?? 0),
    add: Float32Array.from(ids, (id) => add.get(id) ?? 0),
    banned,
  };
}

/**
 * The mask a row is drawn under: `grammar`'s allowed tokens (every token without one) less the
 * banned ones; null when every token is allowed.
 */
export function rowMask(vocab: number, grammar: TokenMask | null, banned: readonly number[]): TokenMask | null {
  if (!grammar && banned.length === 0) return null;
  // A grammar's mask covers the tokenizer's ids; a model's padded rows past them stay disallowed.
  const mask = new Uint32Array(maskWords(vocab));
  if (grammar) mask.set(grammar.subarray(0, mask.length));
  else mask.fill(0xffffffff);
  for (const id of banned) if (id < vocab) mask[id >>> 5] &= ~(1 << (id & 31));
  return mask;
}

const finite = (x: number) => x === x && x !== Infinity && x !== -Infinity;

/**
 * The host's half of wgsl/logit_adjust.wgsl: the adjusted, masked copy of a row (the row itself
 * when there is nothing to do). Non-finite logits stay as they are, as on the device.
 */
export function applyAdjustments(logits: Float32Array, adj: LogitAdjustments | null, mask: TokenMask | null): Float32Array {
  if (!adj && !mask) return logits;
  const out = logits.slice();
  if (adj) {
    for (let k = 0; k < adj.tokens.length; k++) {
      const id = adj.tokens[k];
      if (id >= out.length || (mask && !allowed(mask, id)) || !finite(out[id])) continue;
      out[id] = Math.fround(out[id] - adj.sub[k]) + adj.add[k];
    }
  }
  if (mask) for (let id = 0; id < out.length; id++) if (!allowed(mask, id) && finite(out[id])) out[id] = MASKED_LOGIT;
  return out;
}
