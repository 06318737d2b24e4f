/**
 * vLLM's OpenAI server on the wire, field by field, as its source writes it (vllm-project/vllm,
 * read for this file at these commits):
 * - CHAT = vllm/entrypoints/openai/chat_completion/serving.py @006c49d4,
 *   `chat_completion_stream_generator`;
 * - TEXT = vllm/entrypoints/openai/completion/serving.py @030ea52e, `completion_stream_generator`;
 * - PROTO = vllm/entrypoints/openai/engine/protocol.py @040a2cc2 (`ErrorInfo`, `ErrorResponse`,
 *   `UsageInfo`, `StreamOptions`);
 * - SERVING = vllm/entrypoints/openai/engine/serving.py @00bd1493 (`create_error_response`,
 *   `create_streaming_error_response`, `_check_model`);
 * - UTILS = vllm/entrypoints/serve/utils/server_utils.py @0753ceeb (`AuthenticationMiddleware`,
 *   `validation_exception_handler`, `http_exception_handler`).
 * Chunks are pydantic models dumped with `model_dump_json(exclude_unset=True)`: a field appears
 * when the code passes it, even as None (then `null`), and is absent when left to its default.
 */

/** Each event is `data: <json>\n\n` (CHAT, TEXT: `yield f"data: {data}\n\n"`). */
export const sse = (data: unknown): string => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
/** The stream's last event, after the usage chunk or an error chunk (CHAT, TEXT: `yield "data: [DONE]\n\n"`). */
export const DONE = 'data: [DONE]\n\n';

export interface Head {
  /** `chatcmpl-<uuid>` (CHAT) or `cmpl-<uuid>` (TEXT): the request id, the same on every chunk. */
  id: string;
  /** `int(time.time())` once per request. */
  created: number;
  /** The served model name (`self.models.model_name(lora_request)`). */
  model: string;
}

/**
 * CHAT: the first chunk of each choice, sent before any text: `DeltaMessage(role=role,
 * content="")`, `logprobs=None`, `finish_reason=None`; the chunk passes `prompt_token_ids`
 * (None unless `return_token_ids`) and `prompt_text` (None unless `return_prompt_text`).
 */
export function chatRoleChunk(h: Head, index: number): object {
  return {
    id: h.id, object: 'chat.completion.chunk', created: h.created, model: h.model,
    choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    prompt_token_ids: null, prompt_text: null,
  };
}

/**
 * CHAT: a token's chunk (`finish_reason` None): `delta` is `DeltaMessage(content=delta_text)`;
 * `token_ids` is passed (None unless `return_token_ids`). The finishing chunk carries the last
 * text together with `finish_reason` and `stop_reason` (the stop string or token id that ended
 * it, or None).
 */
export function chatChunk(h: Head, index: number, content: string, logprobs: object | null, finish: string | null = null): object {
  const choice: Record<string, unknown> = { index, delta: { content }, logprobs, finish_reason: finish };
  if (finish !== null) choice.stop_reason = null;
  choice.token_ids = null;
  return { id: h.id, object: 'chat.completion.chunk', created: h.created, model: h.model, choices: [choice] };
}

/**
 * TEXT: `CompletionResponseStreamChoice(index, text, logprobs, finish_reason, stop_reason,
 * prompt_token_ids, token_ids)`, all passed, so all present. Its logprobs' `text_offset` counts
 * from the start of the completion (`initial_text_offset=previous_text_lens[i]`), not of the
 * prompt as OpenAI's do.
 */
export function textChunk(h: Head, index: number, text: string, logprobs: object | null, finish: string | null = null): object {
  return {
    id: h.id, object: 'text_completion', created: h.created, model: h.model,
    choices: [{ index, text, logprobs, finish_reason: finish, stop_reason: null, prompt_token_ids: null, token_ids: null }],
  };
}

export interface VllmUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Only with `--enable-prompt-tokens-details` (PROTO: `prompt_tokens_details: ... = None`, dropped by exclude_none). */
  cached_tokens?: number;
}

/**
 * CHAT and TEXT: with `stream_options.include_usage` (PROTO's `StreamOptions.include_usage`),
 * after the last choice's chunk: `choices=[]` and `usage=UsageInfo(prompt_tokens,
 * completion_tokens, total_tokens)`, dumped with exclude_none (so no `prompt_tokens_details`
 * unless the server enables it, and no `system_fingerprint` unless it has one).
 */
export function usageChunk(h: Head, object: 'chat.completion.chunk' | 'text_completion', u: VllmUsage): object {
  const usage: Record<string, unknown> = { prompt_tokens: u.prompt_tokens, total_tokens: u.prompt_tokens + u.completion_tokens, completion_tokens: u.completion_tokens };
  if (u.cached_tokens !== undefined) usage.prompt_tokens_details = { cached_tokens: u.cached_tokens };
  return { id: h.id, object, created: h.created, model: h.model, choices: [], usage };
}

/**
 * PROTO + SERVING: `ErrorResponse(error=ErrorInfo(message, type, param, code))`, `code` being
 * the HTTP status as a number; sent as the body of a non-2xx JSON response, or, once a stream
 * has begun, as one more event (`data: {"error": ...}`) followed by `data: [DONE]`.
 * `type`: "BadRequestError" (400), "NotFoundError" (404, `_check_model`: message
 * "The model `X` does not exist.", param "model"), "InternalServerError" (500), or the HTTP
 * phrase for an HTTPException (UTILS: "Too Many Requests", "Not Found").
 */
export function errorBody(status: number, type: string, message: string, param: string | null = null): object {
  return { error: { message, type, param, code: status } };
}

/** vLLM before it nested the error (its `ErrorResponse` had `object: "error"` and the fields at the top). */
export function legacyErrorBody(status: number, type: string, message: string, param: string | null = null): object {
  return { object: 'error', message, type, param, code: status };
}

/** UTILS `AuthenticationMiddleware`: a wrong or missing Bearer token under `--api-key` is a 401 with this body. */
export const UNAUTHORIZED = { error: 'Unauthorized' };

/** What a streaming answer's headers are (FastAPI's StreamingResponse with media_type "text/event-stream"). */
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' };
