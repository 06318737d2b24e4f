/**
 * Type-level checks against OpenAI's own TypeScript types (the `openai` package): Folio
 * accepts OpenAI's requests in the subset it runs, and OpenAI's response types accept Folio's
 * responses and chunks. Nothing here runs: `tsc` (and test/api/openaiTypes.test.ts, which
 * compiles this file alone) fails when a shape drifts.
 */
import type OpenAI from 'openai';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type * as Folio from '../../src/api/index.ts';

type Chat = OpenAI.Chat.Completions.ChatCompletionCreateParams;
type TextPart = OpenAI.Chat.Completions.ChatCompletionContentPartText;

/** A message as OpenAI types it, limited to text content (Folio's models read text only). */
type TextOnly<M> = Omit<M, 'content' | 'name'> & { content: string | TextPart[] };

/** The messages Folio runs: system, developer, user and assistant turns of text. */
type SupportedMessage =
  | TextOnly<OpenAI.Chat.Completions.ChatCompletionSystemMessageParam>
  | TextOnly<OpenAI.Chat.Completions.ChatCompletionDeveloperMessageParam>
  | TextOnly<OpenAI.Chat.Completions.ChatCompletionUserMessageParam>
  | (Pick<OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam, 'role'> & { content: string | TextPart[] })
  // Issue 16: a turn that called functions, and a function's answer.
  | (Pick<OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam, 'role'> & { content: null; tool_calls: OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall[] })
  | TextOnly<OpenAI.Chat.Completions.ChatCompletionToolMessageParam>;

/** Function tools, and the tool choices Folio runs (no custom tools, no allowed-tools lists). */
type SupportedTools = {
  tools?: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] | null;
  tool_choice?: 'none' | 'auto' | 'required' | OpenAI.Chat.Completions.ChatCompletionNamedToolChoice | null;
};

/** The sampling parameters both APIs share, as OpenAI types them (nulls included). */
type Shared = 'model' | 'frequency_penalty' | 'presence_penalty' | 'logit_bias' | 'max_tokens' | 'n' | 'seed' | 'stop' | 'stream_options' | 'temperature' | 'top_p' | 'user';

export type SupportedChatParams = Pick<Chat, Shared | 'max_completion_tokens' | 'logprobs' | 'top_logprobs' | 'stream' | 'response_format'> & SupportedTools & { messages: SupportedMessage[] };
export type SupportedTextParams = Pick<OpenAI.Completions.CompletionCreateParams, Shared | 'logprobs' | 'stream'> & { prompt: string };

/**
 * A streamed text completion as OpenAI sends it: a Completion whose choices have
 * finish_reason null until the last (OpenAI's Completion type omits that null).
 */
type StreamedCompletion = Omit<OpenAI.Completions.Completion, 'choices'> & {
  choices: (Omit<OpenAI.Completions.CompletionChoice, 'finish_reason'> & { finish_reason: OpenAI.Completions.CompletionChoice['finish_reason'] | null })[];
};

/** Each function compiles only if its argument's type is assignable to its result's. */
export const requests = {
  chat: (p: SupportedChatParams): Folio.ChatCompletionCreateParams => p,
  text: (p: SupportedTextParams): Folio.CompletionCreateParams => p,
  streamOptions: (o: OpenAI.Chat.Completions.ChatCompletionStreamOptions): Folio.StreamOptions => o,
};

export const responses = {
  chat: (r: Folio.ChatCompletion): OpenAI.Chat.Completions.ChatCompletion => r,
  chunk: (c: Folio.ChatCompletionChunk): OpenAI.Chat.Completions.ChatCompletionChunk => c,
  text: (r: Folio.Completion): OpenAI.Completions.Completion => r,
  textChunk: (c: Folio.CompletionChunk): StreamedCompletion => c,
  usage: (u: Folio.Usage): OpenAI.Completions.CompletionUsage => u,
  message: (m: Folio.ChatMessage): OpenAI.Chat.Completions.ChatCompletionMessageParam => m,
};

/** What a page written against OpenAI's types writes, passed to Folio's create() as is. */
export async function asAPageWritesIt(engine: FolioEngine): Promise<void> {
  const params = {
    model: 'stories260K',
    messages: [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Tell me a story' }] },
    ],
    max_completion_tokens: 20,
    frequency_penalty: 0.5,
    presence_penalty: null,
    logit_bias: { '13': -100 },
    logprobs: true,
    top_logprobs: 2,
    stream: true,
    stream_options: { include_usage: true },
  } satisfies SupportedChatParams & { stream: true };
  const stream = await engine.chat.completions.create(params);
  for await (const chunk of stream) {
    const typed: OpenAI.Chat.Completions.ChatCompletionChunk = chunk;
    void typed;
  }
  const text: OpenAI.Completions.Completion = await engine.completions.create({ model: 'stories260K', prompt: 'Once', logprobs: 2, max_tokens: null });
  void text;
  const tool: OpenAI.Chat.Completions.ChatCompletionFunctionTool = { type: 'function', function: { name: 'f', parameters: { type: 'object' }, strict: true } };
  const call: OpenAI.Chat.Completions.ChatCompletion = await engine.chat.completions.create({
    model: 'stories260K',
    messages: [{ role: 'user', content: 'x' }],
    tools: [tool],
    tool_choice: { type: 'function', function: { name: 'f' } },
    response_format: { type: 'text' },
  } satisfies SupportedChatParams);
  void call.choices[0].message.tool_calls;
}
