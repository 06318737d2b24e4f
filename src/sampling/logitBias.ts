import { InvalidParamsError } from '../errors.ts';

/** Token id to the bias added to its logit; -Infinity for a banned token. */
export type LogitBias = ReadonlyMap<number, number>;

/** OpenAI's bound: biases lie in [-100, 100]. */
export const MAX_BIAS = 100;

/** A token id as a JSON key: a non-negative decimal integer, no sign, no leading zeros. */
const ID_KEY = /^(0|[1-9]\d*)$/;

const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/**
 * Validates OpenAI's `logit_bias` (`{"<token id>": bias}`). A bias of -100 becomes -Infinity:
 * OpenAI documents -100 as a ban, and a finite -100 would not ban a token whose logit stands
 * more than 100 above the rest. With `vocabSize` (the model's logits row), ids past it are
 * refused. null for an absent or empty map, so that callers can skip the work.
 */
export function parseLogitBias(raw: unknown, vocabSize?: number): LogitBias | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidParamsError('logit_bias', `must be an object of token id to bias, got ${show(raw)}`);
  const bias = new Map<number, number>();
  for (const [key, value] of Object.entries(raw)) {
    if (!ID_KEY.test(key) || !Number.isSafeInteger(Number(key))) throw new InvalidParamsError('logit_bias', `keys must be token ids (integers >= 0), got ${JSON.stringify(key)}`);
    const id = Number(key);
    if (vocabSize !== undefined && id >= vocabSize) throw new InvalidParamsError('logit_bias', `token id ${id} is outside the model's vocabulary of ${vocabSize} tokens`);
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_BIAS) {
      throw new InvalidParamsError('logit_bias', `the bias of token ${id} must be a number from -100 to 100, got ${show(value)}`);
    }
    if (value !== 0) bias.set(id, value === -MAX_BIAS ? -Infinity : value);
  }
  return bias.size > 0 ? bias : null;
}
