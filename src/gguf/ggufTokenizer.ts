import type { Metadata } from './Metadata.ts';
import { gpt2TokenizerJson } from './gpt2Tokenizer.ts';
import { type GgufVocab, readVocab } from './ggufVocab.ts';
import { llamaTokenizerJson } from './llamaTokenizer.ts';

export interface GgufTokenizerFiles {
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  vocab: GgufVocab;
}

const MODELS: Readonly<Record<string, (m: Metadata, v: GgufVocab) => object>> = {
  llama: llamaTokenizerJson,
  gpt2: gpt2TokenizerJson,
};

/**
 * The tokenizer a GGUF file carries in its tokenizer.* metadata, as the tokenizer.json and
 * tokenizer_config.json Folio's tokenizer (transformers.js) reads: the vocabulary and merges,
 * BOS/EOS and whether they are added, and the chat template.
 */
export function ggufTokenizer(m: Metadata, vocabSize: number): GgufTokenizerFiles {
  const model = m.string('tokenizer.ggml.model');
  if (!Object.hasOwn(MODELS, model)) {
    m.fail('tokenizer.ggml.model', `tokenizer ${JSON.stringify(model)} is not implemented (Folio reads ${Object.keys(MODELS).join(' and ')})`);
  }
  const vocab = readVocab(m, model, vocabSize);
  const token = (id: number | null) => (id === null ? null : vocab.tokens[id]);
  const tokenizerConfig: Record<string, unknown> = {
    // LlamaTokenizer with legacy: transformers.js keeps the normalizer as written (llamaTokenizer.ts)
    tokenizer_class: model === 'llama' ? 'LlamaTokenizer' : 'PreTrainedTokenizer',
    legacy: true,
    // As Hugging Face writes a tokenizer that adds no BOS (Qwen2): no bos_token, so a prompt gets none.
    bos_token: vocab.addBos ? token(vocab.bosId) : null,
    eos_token: token(vocab.eosId),
    unk_token: token(vocab.unkId),
    pad_token: null,
    add_bos_token: vocab.addBos,
    add_eos_token: vocab.addEos,
    // decoded text must be the concatenation of its tokens, or streaming could not match it
    clean_up_tokenization_spaces: false,
    ...(vocab.chatTemplate !== null ? { chat_template: vocab.chatTemplate } : {}),
  };
  return { tokenizerJson: MODELS[model](m, vocab), tokenizerConfig, vocab };
}
