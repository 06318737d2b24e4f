import { TokenizerError } from '../errors.ts';
import type { Metadata } from './Metadata.ts';

/** llama.cpp's token types (tokenizer.ggml.token_type). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** The vocabulary and special tokens a GGUF file's tokenizer.ggml.* metadata gives. */
export interface GgufVocab {
  tokens: string[];
  types: number[];
  /** SentencePiece scores (llama tokenizers); null when the file has none. */
  scores: number[] | null;
  bosId: number | null;
  eosId: number | null;
  unkId: number | null;
  addBos: boolean;
  addEos: boolean;
  chatTemplate: string | null;
}

/** Reads the vocabulary; `model` decides llama.cpp's defaults for add_bos_token (SentencePiece adds one). */
export function readVocab(m: Metadata, model: string, vocabSize: number): GgufVocab {
  const tokens = m.strings('tokenizer.ggml.tokens');
  // A model may embed more ids than the tokenizer names (padding), never fewer.
  if (tokens.length > vocabSize) m.fail('tokenizer.ggml.tokens', `has ${tokens.length} tokens, but token_embd.weight has only ${vocabSize} rows`);
  const seen = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (seen.has(t)) throw new TokenizerError(`${m.file}: tokenizer.ggml.tokens holds ${JSON.stringify(t)} twice (ids ${seen.get(t)} and ${id})`);
    seen.set(t, id);
  });
  return {
    tokens,
    types: m.numbers('tokenizer.ggml.token_type', tokens.length) ?? tokens.map(() => TokenType.NORMAL),
    scores: m.numbers('tokenizer.ggml.scores', tokens.length),
    bosId: m.tokenId('tokenizer.ggml.bos_token_id', tokens.length),
    eosId: m.tokenId('tokenizer.ggml.eos_token_id', tokens.length),
    unkId: m.tokenId('tokenizer.ggml.unknown_token_id', tokens.length),
    addBos: m.bool('tokenizer.ggml.add_bos_token', model === 'llama'),
    addEos: m.bool('tokenizer.ggml.add_eos_token', false),
    chatTemplate: m.has('tokenizer.chat_template') ? m.string('tokenizer.chat_template') : null,
  };
}

/** Control, unknown and user-defined tokens: matched in the text before the model splits it, as Hugging Face's added tokens are. */
export function addedTokens(v: GgufVocab): object[] {
  const out: object[] = [];
  v.types.forEach((type, id) => {
    const special = type === TokenType.CONTROL || type === TokenType.UNKNOWN;
    if (!special && type !== TokenType.USER_DEFINED) return;
    out.push({ id, content: v.tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });
  return out;
}

/** Hugging Face's TemplateProcessing for BOS and/or EOS around each sequence; null when neither is added. */
export function specialsPostProcessor(v: GgufVocab): object | null {
  const bos = v.addBos && v.bosId !== null ? v.tokens[v.bosId] : null;
  const eos = v.addEos && v.eosId !== null ? v.tokens[v.eosId] : null;
  if (!bos && !eos) return null;
  const special = (t: string | null, typeId: number) => (t ? [{ SpecialToken: { id: t, type_id: typeId } }] : []);
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const specialTokens: Record<string, object> = {};
  for (const [t, id] of [[bos, v.bosId], [eos, v.eosId]] as const) if (t) specialTokens[t] = { id: t, ids: [id], tokens: [t] };
  return {
    type: 'TemplateProcessing',
    single: [...special(bos, 0), seq('A', 0), ...special(eos, 0)],
    pair: [...special(bos, 0), seq('A', 0), ...special(eos, 0), ...special(bos, 1), seq('B', 1), ...special(eos, 1)],
    special_tokens: specialTokens,
  };
}
