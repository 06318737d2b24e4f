// The tokenizers module alone: the package root would also load models, pipelines and sharp.
import { AutoTokenizer, PreTrainedTokenizer } from '@xenova/transformers/src/tokenizers.js';
import { TokenizerError } from '../errors.ts';
import { boundBpeCache } from './boundBpeCache.ts';
import { keepByteOrderMarks } from './keepByteOrderMarks.ts';
import { formatPlainChat, type ChatMessage, type ChatTemplateOptions } from './chat.ts';
import { StreamDecoder } from './StreamDecoder.ts';
import { withStringMerges } from './pairMerges.ts';

export interface EncodeOptions {
  /**
   * true: BOS first; false: none. Left out: the tokenizer's own rule (its post-processor,
   * as Hugging Face's add_special_tokens does).
   */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, ...). */
  skipSpecial?: boolean;
}

export interface TokenizerOptions {
  /** Extra end-of-sequence ids, e.g. generation_config.json's eos_token_id list. */
  eosIds?: readonly number[];
  /**
   * The model's vocab_size, where it is padded past the tokenizer: the model may generate those
   * ids, and they decode to nothing, as Hugging Face's tokenizers skip ids they lack.
   */
  modelVocabSize?: number;
}

/**
 * Folio's tokenizer: a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) run by
 * transformers.js, built from the parsed files in memory, so it never touches the network.
 * Decoding never applies `clean_up_tokenization_spaces`: text must be the plain concatenation
 * of its tokens, or streamed text could not equal the decoded whole.
 */
export class Tokenizer {
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  readonly vocabSize: number;
  /** Ids up to here (exclusive) may be decoded; those from vocabSize on are padding. */
  private readonly decodableIds: number;

  private constructor(
    private readonly hf: PreTrainedTokenizer,
    private readonly hasChatTemplate: boolean,
    config: Record<string, unknown>,
    options: TokenizerOptions,
  ) {
    this.bosId = this.tokenId(config.bos_token);
    const eos = this.tokenId(config.eos_token);
    this.eosIds = [...new Set([...(eos === null ? [] : [eos]), ...(options.eosIds ?? [])])];
    // added tokens are written into the model's vocab by id, so its length covers them
    this.vocabSize = hf.model.vocab.length;
    this.decodableIds = Math.max(this.vocabSize, options.modelVocabSize ?? 0);
  }

  /** Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json. */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, options: TokenizerOptions = {}): Tokenizer {
    if (!isObject(tokenizerJson)) throw new TokenizerError('tokenizer.json is not a JSON object');
    if (!isObject(tokenizerConfig)) throw new TokenizerError('tokenizer_config.json is not a JSON object');
    const className = typeof tokenizerConfig.tokenizer_class === 'string' ? tokenizerConfig.tokenizer_class.replace(/Fast$/, '') : '';
    // transformers.js picks the class the same way; unknown classes get the generic one
    const Class = AutoTokenizer.TOKENIZER_CLASS_MAPPING[className] ?? PreTrainedTokenizer;
    let hf: PreTrainedTokenizer;
    try {
      hf = new Class(withStringMerges(tokenizerJson), tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`cannot build the tokenizer from tokenizer.json: ${(e as Error).message}`);
    }
    keepByteOrderMarks(hf);
    boundBpeCache(hf);
    const template = tokenizerConfig.chat_template;
    const hasChatTemplate = typeof template === 'string' || (Array.isArray(template) && template.length > 0);
    return new Tokenizer(hf, hasChatTemplate, tokenizerConfig, options);
  }

  /**
   * Text ids. As in Hugging Face, special-token text inside `text` ('<s>', '<|im_end|>')
   * becomes that special token; llama2.c would spell it out character by character.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const { addBos } = options;
    if (addBos === undefined) return this.hf.encode(text, null, { add_special_tokens: true });
    const ids = this.hf.encode(text, null, { add_special_tokens: false });
    if (!addBos) return ids;
    if (this.bosId === null) throw new TokenizerError('addBos: this tokenizer has no BOS token');
    return [this.bosId, ...ids];
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    // transformers.js rejects an empty list
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.decodableIds) throw new TokenizerError(`token id ${id} is outside the vocabulary of ${this.decodableIds}`);
    }
    const known = ids.filter((id) => id < this.vocabSize);
    if (known.length === 0) return '';
    return this.hf.decode(known, { skip_special_tokens: options.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  /**
   * An incremental decoder for generated ids. `context`: ids just before the stream (the
   * prompt's last few), so that the first streamed token's leading space survives.
   */
  streamDecoder(options: DecodeOptions & { context?: readonly number[] } = {}): StreamDecoder {
    return new StreamDecoder((ids) => this.decode(ids, options), options.context ?? []);
  }

  /**
   * The prompt text for a conversation: the model's chat_template (Jinja, through
   * transformers.js) when it has one, else Folio's PLAIN_CHAT_FORMAT.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.hasChatTemplate) return formatPlainChat(messages, options);
    try {
      return this.hf.apply_chat_template(
        messages.map((m) => ({ role: m.role, content: m.content })),
        { tokenize: false, add_generation_prompt: options.addGenerationPrompt ?? false, ...(options.tools ? { tools: options.tools } : {}) },
      );
    } catch (e) {
      throw new TokenizerError(`chat_template failed: ${(e as Error).message}`);
    }
  }

  /**
   * Whether the model's chat template renders a `tools` variable (Hugging Face's convention for
   * templates with tool support: Qwen2.5, Llama 3.1, SmolLM3, ...). Read from the template's
   * source, as transformers does not record it elsewhere.
   */
  get templateRendersTools(): boolean {
    const t = this.hf.chat_template;
    return this.hasChatTemplate && typeof t === 'string' && /\btools\b/.test(t);
  }

  /**
   * A conversation's prompt ids. A model's template writes its own special tokens, so its text is
   * encoded as is (as Hugging Face does); the plain format gets the tokenizer's usual BOS.
   */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    const text = this.applyChatTemplate(messages, options);
    return this.hasChatTemplate ? this.encode(text, { addBos: false }) : this.encode(text);
  }

  /** The id of a token given by content (or as an AddedToken object), or null. */
  private tokenId(token: unknown): number | null {
    const content = isObject(token) && typeof token.content === 'string' ? token.content : token;
    if (typeof content !== 'string') return null;
    return this.hf.model.tokens_to_ids.get(content) ?? null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
