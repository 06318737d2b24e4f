import { TokenizerError } from '../errors.ts';
import { isObject } from './configFields.ts';

/**
 * Model vocabularies are often padded past the tokenizer (to a multiple of 64 or 128; Qwen2.5
 * by up to ~400 rows in 152064): those ids are never in a prompt and decode to nothing. A gap
 * wider than this is not padding but another model's tokenizer.
 */
export function paddingAllowance(vocabSize: number): number {
  return Math.max(128, Math.ceil(vocabSize / 100));
}

/** Ids tokenizer.json defines (its model's vocabulary and its added tokens): the highest + 1. */
export function tokenizerIdCount(tokenizerJson: unknown): number {
  let top = -1;
  const see = (id: unknown) => {
    if (typeof id === 'number' && Number.isInteger(id)) top = Math.max(top, id);
  };
  if (!isObject(tokenizerJson)) return 0;
  const vocab = isObject(tokenizerJson.model) ? tokenizerJson.model.vocab : undefined;
  // Unigram lists [piece, score] pairs by id; BPE, WordPiece and WordLevel map token -> id.
  if (Array.isArray(vocab)) see(vocab.length - 1);
  else if (isObject(vocab)) for (const id of Object.values(vocab)) see(id);
  const added = tokenizerJson.added_tokens;
  if (Array.isArray(added)) for (const t of added) if (isObject(t)) see(t.id);
  return top + 1;
}

/**
 * Refuses at load a tokenizer whose ids the model cannot embed, or a model that would
 * generate many ids the tokenizer cannot decode: either way the pair is not one model.
 */
export function checkTokenizerFits(tokenizerJson: unknown, vocabSize: number): void {
  if (!isObject(tokenizerJson)) return;
  const ids = tokenizerIdCount(tokenizerJson);
  if (ids > vocabSize) {
    throw new TokenizerError(
      `tokenizer.json defines ${ids} token ids but config.json's vocab_size is ${vocabSize}: the model has no embedding for ids ${vocabSize} to ${ids - 1}`,
    );
  }
  const allowance = paddingAllowance(vocabSize);
  if (vocabSize - ids > allowance) {
    throw new TokenizerError(
      `config.json's vocab_size ${vocabSize} exceeds the ${ids} token ids of tokenizer.json by ${vocabSize - ids}, ` +
        `more than padding explains (${allowance}): the model would generate ids the tokenizer cannot decode; is this the model's own tokenizer?`,
    );
  }
}
