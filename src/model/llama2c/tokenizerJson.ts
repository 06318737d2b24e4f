import { TokenizerError } from '../../errors.ts';
import type { TokenizerBin } from './tokenizerBin.ts';

/** sentencepiece's word-boundary mark; llama2.c's exporter wrote it as a plain space. */
const SPIECE_SPACE = '\u2581';
const SPECIALS = ['<unk>', '<s>', '</s>'] as const;
/** llama2.c hard-codes the byte-fallback ids as byte + 3 (after the three specials). */
const BYTE_OFFSET = SPECIALS.length;
/** What Hugging Face writes when a tokenizer's length limit is unknown. */
const VERY_LARGE_INTEGER = 1e30;

export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The subset of Hugging Face's tokenizer.json that a sentencepiece-BPE Llama tokenizer uses. */
export interface HfTokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: object;
  pre_tokenizer: null;
  post_processor: object;
  decoder: object;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

export interface HfTokenizerConfig {
  tokenizer_class: 'LlamaTokenizer';
  bos_token: string;
  eos_token: string;
  unk_token: string;
  pad_token: null;
  add_bos_token: boolean;
  add_eos_token: boolean;
  /** transformers.js: keep the tokenizer.json normalizer (see buildTokenizerFiles). */
  legacy: boolean;
  clean_up_tokenization_spaces: boolean;
  model_max_length: number;
}

export interface TokenizerFiles {
  tokenizerJson: HfTokenizerJson;
  tokenizerConfig: HfTokenizerConfig;
}

export interface TokenizerFilesOptions {
  /** The model's context length (llama2.c's seq_len); unknown by default. */
  modelMaxLength?: number;
}

/**
 * Builds Hugging Face tokenizer.json and tokenizer_config.json for a llama2.c tokenizer.bin,
 * such that BPE over them gives exactly the ids of llama2.c's encode():
 * - The normalizer prepends '▁' (sentencepiece's dummy prefix; the empty string is never
 *   normalized, so it stays empty as in llama2.c) and turns spaces into '▁'. No pre-tokenizer:
 *   llama2.c merges over the whole text, not per word.
 * - llama2.c merges, again and again, the adjacent pair whose concatenation is the
 *   highest-scoring piece. Scores fall with id, so a merge's rank is its result's id; every
 *   split of a piece into two vocabulary pieces is a merge, ordered within one piece by
 *   (left id, right id) as Hugging Face's sentencepiece converter does.
 * - `legacy: true` makes transformers.js's LlamaTokenizer use this normalizer as written
 *   (its non-legacy path swaps in a Metaspace pre-tokenizer); that is also what Rust
 *   `tokenizers` does with this file, so every runtime agrees.
 */
export function buildTokenizerFiles(bin: TokenizerBin, options: TokenizerFilesOptions = {}): TokenizerFiles {
  const pieces = bin.pieces.map((p) => p.text);
  checkLayout(pieces);
  const vocabList = pieces.map((text, id) => (id < BYTE_OFFSET ? SPECIALS[id] : text.replaceAll(' ', SPIECE_SPACE)));
  const vocab: Record<string, number> = {};
  vocabList.forEach((piece, id) => {
    if (Object.hasOwn(vocab, piece)) throw new TokenizerError(`tokenizer.bin: piece ${JSON.stringify(piece)} appears twice (ids ${vocab[piece]} and ${id})`);
    vocab[piece] = id;
  });
  checkScoresFall(bin);

  const tokenizerJson: HfTokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPIECE_SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPIECE_SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: bosPostProcessor(),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE_SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        // the dummy prefix's space; llama2.c drops it after BOS
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: mergesFor(vocabList, vocab),
    },
  };
  const tokenizerConfig: HfTokenizerConfig = {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    add_bos_token: true,
    add_eos_token: false,
    legacy: true,
    // decoded text must be the concatenation of its tokens, or streaming could not match it
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? VERY_LARGE_INTEGER,
  };
  return { tokenizerJson, tokenizerConfig };
}

/** Every split of every piece into two vocabulary pieces, in llama2.c's priority order. */
function mergesFor(vocabList: string[], vocab: Record<string, number>): string[] {
  const merges: string[] = [];
  const idOf = (s: string): number | undefined => (Object.hasOwn(vocab, s) ? vocab[s] : undefined);
  for (let id = BYTE_OFFSET + 256; id < vocabList.length; id++) {
    const chars = Array.from(vocabList[id]);
    const splits: { left: number; right: number; text: string }[] = [];
    for (let cut = 1; cut < chars.length; cut++) {
      const l = chars.slice(0, cut).join('');
      const r = chars.slice(cut).join('');
      const left = idOf(l);
      const right = idOf(r);
      // specials and byte tokens never come out of llama2.c's merges: their text never forms
      if (left === undefined || right === undefined || left < BYTE_OFFSET + 256 || right < BYTE_OFFSET + 256) continue;
      splits.push({ left, right, text: `${l} ${r}` });
    }
    splits.sort((a, b) => a.left - b.left || a.right - b.right);
    for (const s of splits) merges.push(s.text);
  }
  return merges;
}

/** Ids 0..2 are the specials and 3..258 the bytes: llama2.c's run.c assumes exactly this. */
function checkLayout(pieces: string[]): void {
  if (pieces.length < BYTE_OFFSET + 256) throw new TokenizerError(`tokenizer.bin: ${pieces.length} tokens; a llama2.c vocabulary has at least 259`);
  for (let b = 0; b < 256; b++) {
    const want = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    const got = pieces[BYTE_OFFSET + b];
    if (got !== want) throw new TokenizerError(`tokenizer.bin: token ${BYTE_OFFSET + b} is ${JSON.stringify(got)}, expected the byte token ${want}`);
  }
  for (let id = BYTE_OFFSET + 256; id < pieces.length; id++) {
    if (pieces[id].length === 0) throw new TokenizerError(`tokenizer.bin: token ${id} is empty`);
  }
}

/** Ranks by id stand for llama2.c's scores only while scores fall with id. */
function checkScoresFall(bin: TokenizerBin): void {
  const merged = bin.pieces.slice(BYTE_OFFSET + 256);
  for (let i = 1; i < merged.length; i++) {
    if (merged[i].score > merged[i - 1].score) {
      throw new TokenizerError(`tokenizer.bin: token ${BYTE_OFFSET + 256 + i} scores above token ${BYTE_OFFSET + 256 + i - 1}; merge ranks would not follow ids`);
    }
  }
}

/** Llama's TemplateProcessing: BOS before each sequence, no EOS. */
function bosPostProcessor(): object {
  const bos = (typeId: number) => ({ SpecialToken: { id: '<s>', type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    type: 'TemplateProcessing',
    single: [bos(0), seq('A', 0)],
    pair: [bos(0), seq('A', 0), bos(1), seq('B', 1)],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  };
}
