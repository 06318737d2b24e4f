import type { Metadata } from './Metadata.ts';
import { addedTokens, type GgufVocab, specialsPostProcessor, TokenType } from './ggufVocab.ts';

/** GPT-2's word split; transformers.js spells the case-insensitive contractions itself. */
const GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/** Qwen2's split (digits one by one), as its tokenizer.json spells it. */
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Llama 3's split (digits in runs of up to three), as its tokenizer.json spells it. */
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });
const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

/**
 * Hugging Face pre-tokenizers for llama.cpp's `tokenizer.ggml.pre` names: the word split
 * llama.cpp runs for each, then the byte-to-unicode map. A name not listed is refused: a wrong
 * split gives other ids for the same text.
 */
const PRE_TOKENIZERS: Readonly<Record<string, object>> = {
  qwen2: { type: 'Sequence', pretokenizers: [split(QWEN2_SPLIT), byteLevel] },
  'llama-bpe': { type: 'Sequence', pretokenizers: [split(LLAMA3_SPLIT), byteLevel] },
  llama3: { type: 'Sequence', pretokenizers: [split(LLAMA3_SPLIT), byteLevel] },
  'gpt-2': { type: 'Sequence', pretokenizers: [split(GPT2_SPLIT), byteLevel] },
  // SmolLM: each digit alone, then GPT-2's split
  smollm: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, split(GPT2_SPLIT), byteLevel] },
};

/**
 * tokenizer.json for `tokenizer.ggml.model = "gpt2"`: byte-level BPE over the file's merges
 * (rank order), the word split named by tokenizer.ggml.pre, no normalizer. Control and
 * user-defined tokens are added tokens, as in the tokenizer.json the file was converted from.
 */
export function gpt2TokenizerJson(m: Metadata, v: GgufVocab): object {
  const pre = m.string('tokenizer.ggml.pre', 'gpt-2');
  if (!Object.hasOwn(PRE_TOKENIZERS, pre)) {
    m.fail('tokenizer.ggml.pre', `pre-tokenizer ${JSON.stringify(pre)} is not implemented (Folio reads ${Object.keys(PRE_TOKENIZERS).join(', ')})`);
  }
  const merges = m.strings('tokenizer.ggml.merges');
  merges.forEach((merge, i) => {
    if (merge.split(' ').length !== 2) m.fail('tokenizer.ggml.merges', `entry ${i} (${JSON.stringify(merge)}) is not two tokens separated by one space`);
  });
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, id) => {
    if (v.types[id] !== TokenType.CONTROL && v.types[id] !== TokenType.USER_DEFINED) vocab[t] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(v),
    normalizer: null,
    pre_tokenizer: PRE_TOKENIZERS[pre],
    post_processor: specialsPostProcessor(v),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre === 'llama-bpe' || pre === 'llama3',
      vocab,
      merges,
    },
  };
}
