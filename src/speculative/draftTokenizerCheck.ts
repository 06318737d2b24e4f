import { InvalidParamsError } from '../errors.ts';

/** What the check compares of each model: its vocabulary size and, where it has one, its tokenizer.json. */
export interface TokenizerSide {
  /** For messages: the model's source. */
  name: string;
  vocabSize: number;
  tokenizerJson: unknown;
}

/**
 * Refuses a draft model that does not share the target's tokenizer: a drafted id must mean the
 * same token to both, or every draft is a guess in another language. The vocabulary sizes must
 * be equal; where both have a tokenizer.json, every id's token string too (a GGUF's tokenizer
 * and a Hugging Face folder's spell a vocabulary alike, so the two paths can be mixed).
 */
export function checkSameTokenizer(target: TokenizerSide, draft: TokenizerSide): void {
  if (draft.vocabSize !== target.vocabSize) {
    throw new InvalidParamsError('speculative.draftModel', `${draft.name} has a vocabulary of ${draft.vocabSize} tokens and ${target.name} one of ${target.vocabSize}: a draft model must share the model's tokenizer`);
  }
  const a = vocabularyOf(target.tokenizerJson);
  const b = vocabularyOf(draft.tokenizerJson);
  if (!a || !b) return;
  const n = Math.max(a.length, b.length);
  for (let id = 0; id < n; id++) {
    if (a[id] !== b[id]) {
      throw new InvalidParamsError('speculative.draftModel', `${draft.name}'s tokenizer differs from ${target.name}'s at id ${id} (${JSON.stringify(b[id] ?? null)} instead of ${JSON.stringify(a[id] ?? null)}): a draft model must share the model's tokenizer`);
    }
  }
}

/**
 * Each id's token string in a tokenizer.json: `model.vocab` as BPE and WordPiece write it
 * ({ token: id }) or as Unigram does ([[token, score], ...]), then `added_tokens` by id.
 * Null for a file of another shape (nothing to compare).
 */
export function vocabularyOf(tokenizerJson: unknown): string[] | null {
  if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) return null;
  const vocab = tokenizerJson.model.vocab;
  const tokens: string[] = [];
  if (Array.isArray(vocab)) {
    vocab.forEach((entry, id) => {
      const token: unknown = Array.isArray(entry) ? entry[0] : entry;
      if (typeof token === 'string') tokens[id] = token;
    });
  } else if (isRecord(vocab)) {
    for (const [token, id] of Object.entries(vocab)) if (typeof id === 'number') tokens[id] = token;
  } else {
    return null;
  }
  const added = tokenizerJson.added_tokens;
  if (Array.isArray(added)) {
    for (const t of added) if (isRecord(t) && typeof t.id === 'number' && typeof t.content === 'string') tokens[t.id] = t.content;
  }
  return tokens;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
