/**
 * The OpenAI-compatible shapes of Folio's API (chat.completions and completions), with
 * Folio's extensions marked. Pages written against OpenAI's SDK types read these as-is.
 */
export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** Parameters shared by chat and text completions. */
export interface SamplingRequest {
  n?: number;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Folio extension: keep only the k most likely tokens. */
  top_k?: number;
  /** Folio extension: > 1 discourages repeating tokens. */
  repetition_penalty?: number;
  seed?: number;
  stop?: string | string[];
  logprobs?: boolean;
  top_logprobs?: number;
  stream?: boolean;
  /** Include `usage` in the last chunk of a stream (Folio always does; accepted for compatibility). */
  stream_options?: { include_usage?: boolean };
  /** Folio extension: whether to prepend the model's BOS token to a raw prompt (default true). */
  add_bos?: boolean;
}

export interface ChatCompletionCreateParams extends SamplingRequest {
  messages: ChatMessage[];
  model?: string;
}

export interface CompletionCreateParams extends SamplingRequest {
  prompt: string;
  model?: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: FinishReason;
    logprobs: { content: TokenLogprob[] } | null;
  }[];
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
    logprobs: { content: TokenLogprob[] } | null;
  }[];
  /** Present on the last chunk only. */
  usage?: Usage;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason; logprobs: { content: TokenLogprob[] } | null }[];
  usage: Usage;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason | null; logprobs: { content: TokenLogprob[] } | null }[];
  usage?: Usage;
}
