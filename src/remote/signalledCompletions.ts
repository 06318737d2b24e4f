import { ChatCompletions, TextCompletions } from '../api/Completions.ts';
import type { EngineHandle } from '../engine/events.ts';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams, Completion, CompletionChunk, CompletionCreateParams, RequestOptions,
} from '../api/openai.ts';

/** A handle for one call, given the call's AbortSignal. */
export type HandleFor = (signal?: AbortSignal) => EngineHandle;

/**
 * Folio's own chat API, over a handle made for each call with the call's signal: an abort then
 * closes the connection at once, even while the server has not answered yet. The responses are
 * shaped by the same code as a local engine's, so the two surfaces cannot drift.
 */
export class SignalledChatCompletions extends ChatCompletions {
  constructor(private readonly handleFor: HandleFor) {
    super(handleFor());
  }

  override create(params: ChatCompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  override create(params: ChatCompletionCreateParams & { stream?: false | null }, opts?: RequestOptions): Promise<ChatCompletion>;
  override create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  override create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    return new ChatCompletions(this.handleFor(opts?.signal)).create(params, opts);
  }
}

/** As SignalledChatCompletions, for text completions. */
export class SignalledTextCompletions extends TextCompletions {
  constructor(private readonly handleFor: HandleFor) {
    super(handleFor());
  }

  override create(params: CompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<CompletionChunk>>;
  override create(params: CompletionCreateParams & { stream?: false | null }, opts?: RequestOptions): Promise<Completion>;
  override create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>>;
  override create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>> {
    return new TextCompletions(this.handleFor(opts?.signal)).create(params, opts);
  }
}
