/**
 * The sampling fields' ranges, the same the engine enforces (src/engine/GenerationRequest.ts,
 * src/sampling/SamplingParams.ts), so that a value is refused in the form, next to its field,
 * before Send rather than by the engine after it. A rule returns what is wrong, or null.
 */
export type SamplingField = 'temperature' | 'top_p' | 'top_k' | 'max_tokens' | 'seed';

type Rule = (n: number) => string | null;

const nonNegative: Rule = (n) => (Number.isFinite(n) && n >= 0 ? null : 'must be 0 or more');

export const RULES: Record<SamplingField, Rule> = {
  temperature: nonNegative,
  top_p: (n) => (n > 0 && n <= 1 ? null : 'must be more than 0 and at most 1'),
  top_k: (n) => (Number.isInteger(n) && n >= 0 ? null : 'must be a whole number, 0 or more'),
  max_tokens: (n) => (Number.isInteger(n) && n >= 1 ? null : 'must be a whole number, 1 or more'),
  seed: (n) => (Number.isSafeInteger(n) ? null : 'must be a whole number (or blank for random)'),
};

/**
 * What is wrong with a field's text, or null. Blank leaves the field to the engine's default.
 * `badInput`: the browser could not read the number input's text as a number at all.
 */
export function checkField(name: SamplingField, text: string, badInput = false): string | null {
  if (badInput) return 'must be a number';
  const v = text.trim();
  if (v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) return 'must be a number';
  return RULES[name](n);
}
