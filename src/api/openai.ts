import type { ToolCall, ToolChoice, ToolDefinition } from './tools.ts';

export type { ToolCall, ToolChoice, ToolDefinition };

/**
 * The OpenAI-compatible shapes of Folio's API (chat.completions and completions), with
 * Folio's extensions marked. Pages written against OpenAI's SDK types read these as-is:
 * test/api/openaiTypes.test.ts checks that OpenAI's own types (the `openai` package) accept
 * Folio's responses and chunks, and that Folio accepts OpenAI's requests in the subset it runs.
 * Every optional parameter also takes `null`, as OpenAI's types send it.
 */

/** `developer` is OpenAI's newer name for `system`: chat templates see it as `system`. */
export type Role = 'system' | 'developer' | 'user' | 'assistant';

/** A text part of a message's content; other part types (images, audio, files) are refused by name. */
export interface TextContentPart {
  type: 'text';
  text: string;
}

/** A message as a request may give it. */
export interface ChatMessageParam {
  role: Role | 'tool';
  /** A string, or text parts, which are joined without a separator. */
  /** null only on an assistant turn that made `tool_calls`. */
  content: string | TextContentPart[] | null;
  /** An assistant turn's calls, as a response returned them. */
  tool_calls?: ToolCall[] | null;
  /** On a `tool` message: the call it answers. */
  tool_call_id?: string;
}

/** A message with its content as one string (what the engine renders, and a page may keep). */
export type ChatMessage = { role: Role; content: string } | { role: 'tool'; content: string; tool_call_id: string };

/** Parameters shared by chat and text completions. */
export interface SamplingRequest {
  response_format?: ResponseFormat | null;
  /** Folio extension: a GBNF grammar (llama.cpp's notation) the reply follows. */
  grammar?: string | null;
  n?: number | null;
  max_tokens?: number | null;
  /** OpenAI's newer name for max_tokens; giving both with different values is an error. */
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  /** Folio extension: keep only the k most likely tokens. */
  top_k?: number | null;
  /** Folio extension: > 1 discourages repeating tokens (CTRL-style: divides positive logits). */
  repetition_penalty?: number | null;
  /** In [-2, 2]: subtracted from a token's logit once per time this choice generated it. */
  frequency_penalty?: number | null;
  /** In [-2, 2]: subtracted from a token's logit once this choice has generated it. */
  presence_penalty?: number | null;
  /** Token id (as a string key) to a bias in [-100, 100] added to its logit; -100 bans the token. */
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  /** Only with `stream: true`. */
  stream_options?: StreamOptions | null;
  /** Folio extension: whether to prepend the model's BOS token to a raw prompt (default true). */
  add_bos?: boolean | null;
  /** Checked against the loaded model when given (see README); a response names the loaded model. */
  model?: string | null;
  /** Accepted and unused, as by OpenAI: an end-user id for abuse monitoring. */
  user?: string;
  /** Folio extension: KV tokens the request may hold (plus the block being filled); older blocks are evicted. */
  kv_budget_tokens?: number | null;
  /** Folio extension: how blocks are evicted under kv_budget_tokens ('paged-eviction' by default). */
  kv_policy?: 'none' | 'window' | 'paged-eviction' | null;
  /** Folio extension: at the model's context, refuse (default) or shift the context and go on. */
  context_overflow?: 'refuse' | 'shift' | null;
  /** Folio extension: speculative decoding (the output stays the model's); false: none, even over the engine's default. */
  speculative?: { method: 'ngram' | 'draft'; k?: number; draft_model?: string } | false | null;
}

export interface StreamOptions {
  /** Stream one more chunk at the end: empty `choices` and the request's `usage`. */
  include_usage?: boolean | null;
  /** Accepted with no effect: it pads network chunks against length side channels, and Folio's never leave the page. */
  include_obfuscation?: boolean | null;
}

/** Constrains the reply: any JSON object, or JSON valid under a schema (src/grammar/jsonSchema.ts lists the subset). */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null } };

export interface ChatCompletionCreateParams extends SamplingRequest {
  messages: ChatMessageParam[];
  /** Functions the model may call; `tool_choice` says whether it must. */
  tools?: ToolDefinition[] | null;
  tool_choice?: ToolChoice | null;
  logprobs?: boolean | null;
  /** 0 to 20 alternatives per token; needs `logprobs: true`. */
  top_logprobs?: number | null;
}

export interface CompletionCreateParams extends SamplingRequest {
  prompt: string;
  /** OpenAI's legacy form: 0 to 5 alternatives per token, with the chosen token's logprob. */
  logprobs?: number | null;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** Why a choice ended, as responses and chunks say it. */
export type CompletionFinishReason = 'stop' | 'length';

/** A chat choice's end: also `tool_calls` when its reply is a call. */
export type ChatFinishReason = CompletionFinishReason | 'tool_calls';

/** A choice's end as a page may record it: `abort` when the page stopped the stream itself. */
export type FinishReason = CompletionFinishReason | 'abort';

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** Chat logprobs; Folio's models never refuse, so `refusal` is always null. */
export interface ChatLogprobs {
  content: TokenLogprob[];
  refusal: null;
}

/**
 * Text-completion logprobs in OpenAI's legacy shape: per generated token its text, logprob,
 * the `logprobs` most likely alternatives (plus the chosen token, so up to logprobs + 1
 * entries), and its character offset counted from the start of the prompt.
 */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  /** Folio extension, with a KV budget or context shift: tokens whose KV was evicted or shifted out. */
  evicted_tokens?: number;
  /** Folio extension, when the request speculated: drafted tokens, those accepted, and the target's forwards that produced its tokens. */
  speculative?: { drafted_tokens: number; accepted_tokens: number; target_forwards: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ToolCall[] };
    finish_reason: ChatFinishReason;
    logprobs: ChatLogprobs | null;
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
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[] };
    finish_reason: ChatFinishReason | null;
    logprobs: ChatLogprobs | null;
  }[];
  /**
   * Only with `stream_options.include_usage`: the usage on one last chunk with empty
   * `choices`, and null on every chunk before it (OpenAI's behaviour). Absent otherwise.
   */
  usage?: Usage | null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: CompletionFinishReason; logprobs: LegacyLogprobs | null }[];
  usage: Usage;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: CompletionFinishReason | null; logprobs: LegacyLogprobs | null }[];
  /**
   * Only with `stream_options.include_usage`, on one last chunk with empty `choices`. Absent
   * from the chunks before it: OpenAI's types for a text completion have no null usage.
   */
  usage?: Usage;
}

/** A streamed piece of a tool call: the first carries id, type and name; arguments arrive as text. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}
