import { TokenizerError } from '../errors.ts';

/**
 * tokenizers >= 0.20 writes a BPE model's merges as pairs (`[["a", "b"], ...]`); transformers.js 2
 * reads only the older `"a b"` strings (it fails with `x.split is not a function`). A pair whose
 * parts hold no space is the same merge either way, so pairs are joined before loading; one with a
 * space has no string form and is refused. Returns the json unchanged when there is nothing to join.
 */
export function withStringMerges(tokenizerJson: Record<string, unknown>): Record<string, unknown> {
  const model = tokenizerJson.model as { merges?: unknown } | undefined;
  const merges = model?.merges;
  if (!Array.isArray(merges) || !merges.some(Array.isArray)) return tokenizerJson;
  const joined = merges.map((m: unknown, i) => {
    if (!Array.isArray(m)) return m;
    if (m.length !== 2 || !m.every((p) => typeof p === 'string' && !p.includes(' '))) {
      throw new TokenizerError(`tokenizer.json: merge ${i} (${JSON.stringify(m)}) is not a pair of space-free strings, which this tokenizer cannot read`);
    }
    return m.join(' ');
  });
  return { ...tokenizerJson, model: { ...model, merges: joined } };
}
