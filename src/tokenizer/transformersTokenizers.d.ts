/**
 * Types for the one module of @xenova/transformers that Folio imports: its tokenizers, without
 * the models, pipelines and image code that the package root pulls in. The package ships no
 * declarations for this path (only for its root, and those are mostly `any`), so here is the
 * narrow surface Folio calls, typed.
 */
declare module '@xenova/transformers/src/tokenizers.js' {
  export interface ChatTemplateMessage {
    role: string;
    content: string;
  }

  export class PreTrainedTokenizer {
    constructor(tokenizerJSON: object, tokenizerConfig: object);
    /** Null means "no template"; the class default is used then, which Folio avoids. */
    chat_template: string | Record<string, string> | null;
    all_special_ids: number[];
    model: {
      tokens_to_ids: Map<string, number>;
      vocab: string[];
    };
    encode(text: string, text_pair?: string | null, options?: { add_special_tokens?: boolean }): number[];
    decode(
      token_ids: number[],
      options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null },
    ): string;
    apply_chat_template(
      conversation: ChatTemplateMessage[],
      options: { tokenize: false; add_generation_prompt?: boolean; chat_template?: string | null; tools?: readonly unknown[] },
    ): string;
  }

  export class AutoTokenizer {
    static TOKENIZER_CLASS_MAPPING: Record<string, new (tokenizerJSON: object, tokenizerConfig: object) => PreTrainedTokenizer>;
  }
}
