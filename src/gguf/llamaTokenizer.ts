import type { Metadata } from './Metadata.ts';
import { addedTokens, type GgufVocab, specialsPostProcessor, TokenType } from './ggufVocab.ts';

/** SentencePiece's word-boundary mark, which the file's pieces already carry. */
const SPIECE_SPACE = '\u2581';

/**
 * tokenizer.json for `tokenizer.ggml.model = "llama"` (SentencePiece BPE with byte fallback):
 * BPE over merges that reproduce llama.cpp's SentencePiece tokenizer, which merges, again and
 * again, the adjacent pair whose concatenation is the best-scoring piece. Every split of a piece
 * into two pieces is a merge, ranked by the piece's score (ties: lower id first), then by
 * (left id, right id), as Hugging Face's SentencePiece converter orders them. The normalizer
 * writes spaces as '▁' and, unless tokenizer.ggml.add_space_prefix is false, prepends one
 * (SentencePiece's dummy prefix); the decoder undoes both. The layout is the one
 * src/model/llama2c/tokenizerJson.ts builds for llama2.c tokenizers, read here from metadata.
 */
export function llamaTokenizerJson(m: Metadata, v: GgufVocab): object {
  const scores = v.scores ?? m.fail('tokenizer.ggml.scores', 'required metadata is missing (a SentencePiece vocabulary ranks its merges by score)');
  const addPrefix = m.bool('tokenizer.ggml.add_space_prefix', true);
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, id) => (vocab[t] = id));
  const hasBytes = v.types.includes(TokenType.BYTE);
  const unk = v.unkId !== null ? v.tokens[v.unkId] : null;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(addPrefix ? [{ type: 'Prepend', prepend: SPIECE_SPACE }] : []),
        { type: 'Replace', pattern: { String: ' ' }, content: SPIECE_SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: specialsPostProcessor(v),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE_SPACE }, content: ' ' },
        ...(hasBytes ? [{ type: 'ByteFallback' }] : []),
        { type: 'Fuse' },
        ...(addPrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: hasBytes,
      ignore_merges: false,
      vocab,
      merges: spmMerges(v, scores, vocab),
    },
  };
}

/** Only normal pieces merge: specials, bytes and unused slots never come out of merging text. */
function spmMerges(v: GgufVocab, scores: number[], vocab: Record<string, number>): string[] {
  const mergeable = (id: number | undefined): id is number => id !== undefined && v.types[id] === TokenType.NORMAL;
  const merges: { score: number; id: number; left: number; right: number; text: string }[] = [];
  v.tokens.forEach((piece, id) => {
    if (!mergeable(id)) return;
    const chars = Array.from(piece);
    for (let cut = 1; cut < chars.length; cut++) {
      const l = chars.slice(0, cut).join('');
      const r = chars.slice(cut).join('');
      const left = Object.hasOwn(vocab, l) ? vocab[l] : undefined;
      const right = Object.hasOwn(vocab, r) ? vocab[r] : undefined;
      // a merge is written "left right": a piece holding a space cannot be one (spaces are '▁' here)
      if (mergeable(left) && mergeable(right) && !l.includes(' ') && !r.includes(' ')) merges.push({ score: scores[id], id, left, right, text: `${l} ${r}` });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.left - b.left || a.right - b.right);
  return merges.map((x) => x.text);
}
