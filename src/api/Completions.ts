import type { EngineHandle } from '../engine/events.ts';
import { AbortError } from '../errors.ts';
import { abortable } from './abortable.ts';
import { EventStream } from './EventStream.ts';
import { legacyLogprobs, type PlacedLogprob } from './legacyLogprobs.ts';
import { checkModel } from './modelName.ts';
import { parseToolCall, toolRequest, type ToolRequest } from './tools.ts';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams, ChatLogprobs, Completion, CompletionChunk,
  CompletionCreateParams, CompletionFinishReason, RequestOptions, SamplingRequest, TokenLogprob, Usage,
} from './openai.ts';

let counter = 0;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36)}`;

interface Choice {
  text: string;
  finish: CompletionFinishReason | null;
  /** Each token's logprobs with the length of the choice's text before it (legacy text_offset). */
  logprobs: PlacedLogprob[] | null;
}

const chatLogprobs = (lps: readonly TokenLogprob[] | null): ChatLogprobs | null => (lps ? { content: [...lps], refusal: null } : null);

/** A delta's logprobs, placed at `offset`: the characters of the choice's text before the delta. */
const placed = (lps: readonly TokenLogprob[], offset: number): PlacedLogprob[] => lps.map((logprob) => ({ logprob, offset }));

async function start(engine: EngineHandle, params: object, opts?: RequestOptions): Promise<EventStream> {
  const signal = opts?.signal;
  // Folio's AbortError, not the signal's DOMException: one class for every abort.
  if (signal?.aborted) throw new AbortError();
  const stream = new EventStream(signal);
  const started = Promise.resolve(engine.generate(params, stream.push));
  // Wired before the await: an abort while the engine admits the request must still free its
  // blocks, as soon as its id is known.
  stream.onCancel = () => void started.then((id) => engine.abort(id), () => {});
  await abortable(started, signal);
  return stream;
}

/** Runs a request to the end, gathering each choice's text, finish reason and logprobs. */
async function collect(stream: EventStream, n: number): Promise<{ choices: Choice[]; usage: Usage }> {
  const choices: Choice[] = Array.from({ length: n }, () => ({ text: '', finish: null, logprobs: null }));
  for await (const ev of stream) {
    if (ev.type === 'delta') {
      const c = choices[ev.choice];
      if (ev.logprobs) (c.logprobs ??= []).push(...placed(ev.logprobs, c.text.length));
      c.text += ev.text;
    } else if (ev.type === 'finish') {
      choices[ev.choice].finish = ev.reason;
    } else if (ev.type === 'done') {
      return { choices, usage: ev.usage };
    }
  }
  throw new Error('the request ended without a result');
}

interface Base {
  id: string;
  created: number;
  model: string;
}

/**
 * The part both OpenAI APIs share: check `model`, start the request, then either stream
 * chunks shaped by `chunk`, or gather the choices and shape the whole response with `whole`.
 */
async function run<Whole, Chunk>(
  engine: EngineHandle,
  params: SamplingRequest,
  opts: RequestOptions | undefined,
  idPrefix: string,
  whole: (base: Base, choices: Choice[], usage: Usage) => Whole,
  chunks: (stream: EventStream, base: Base, includeUsage: boolean) => AsyncIterable<Chunk>,
): Promise<Whole | AsyncIterable<Chunk>> {
  if (opts?.signal?.aborted) throw new AbortError();
  const model = await abortable(Promise.resolve(engine.modelName()), opts?.signal);
  checkModel(params.model, model);
  const stream = await start(engine, params, opts);
  const base = { id: newId(idPrefix), created: Math.floor(Date.now() / 1000), model };
  if (params.stream) return chunks(stream, base, params.stream_options?.include_usage === true);
  const { choices, usage } = await collect(stream, params.n ?? 1);
  return whole(base, choices, usage);
}

/** `engine.chat.completions`: OpenAI's chat API, streaming or not. */
export class ChatCompletions {
  constructor(private readonly engine: EngineHandle) {}

  create(params: ChatCompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams & { stream?: false | null }, opts?: RequestOptions): Promise<ChatCompletion>;
  create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    let tools: ToolRequest | null;
    try {
      tools = params.tools ? toolRequest(params as unknown as Record<string, unknown>) : null;
    } catch (e) {
      return Promise.reject(e); // a rejection, as every other bad parameter
    }
    return run(this.engine, params, opts, 'chatcmpl', (base, choices, usage): ChatCompletion => ({
      ...base,
      object: 'chat.completion',
      choices: choices.map((c, index) => {
        const call = tools && c.finish === 'stop' ? parseToolCall(c.text, tools) : null;
        return {
          index,
          message: call ? { role: 'assistant', content: null, refusal: null, tool_calls: [call] } : { role: 'assistant', content: c.text, refusal: null },
          finish_reason: call ? 'tool_calls' : (c.finish ?? 'stop'),
          logprobs: chatLogprobs(c.logprobs?.map((p) => p.logprob) ?? null),
        };
      }),
      usage,
    }), tools ? (stream, base, includeUsage) => toolChunks(stream, base, includeUsage, tools) : chatChunks);
  }
}

/**
 * OpenAI's stream: with include_usage, every chunk carries `usage: null` and one last chunk
 * with empty `choices` carries the usage; without it, no chunk has a usage.
 */
async function* chatChunks(stream: EventStream, base: Base, includeUsage: boolean): AsyncIterable<ChatCompletionChunk> {
  const started = new Set<number>();
  const usage = includeUsage ? { usage: null } : {};
  for await (const ev of stream) {
    if (ev.type === 'delta') {
      const delta = started.has(ev.choice) ? { content: ev.text } : { role: 'assistant' as const, content: ev.text };
      started.add(ev.choice);
      yield { ...base, object: 'chat.completion.chunk', choices: [{ index: ev.choice, delta, finish_reason: null, logprobs: chatLogprobs(ev.logprobs) }], ...usage };
    } else if (ev.type === 'finish') {
      yield { ...base, object: 'chat.completion.chunk', choices: [{ index: ev.choice, delta: {}, finish_reason: ev.reason, logprobs: null }], ...usage };
    } else if (ev.type === 'done' && includeUsage) {
      yield { ...base, object: 'chat.completion.chunk', choices: [], usage: ev.usage };
    }
  }
}

/**
 * A stream of a request that may call tools: each choice's text is held until it finishes (a
 * call is known only once its JSON is whole), then sent as one call, in OpenAI's delta shape
 * (id, type and name first, then the arguments; finish_reason 'tool_calls'), or as content.
 */
async function* toolChunks(stream: EventStream, base: Base, includeUsage: boolean, tools: ToolRequest): AsyncIterable<ChatCompletionChunk> {
  const text = new Map<number, string>();
  const usage = includeUsage ? { usage: null } : {};
  const chunk = (index: number, delta: ChatCompletionChunk['choices'][number]['delta'], finish: ChatCompletionChunk['choices'][number]['finish_reason'] = null): ChatCompletionChunk => ({
    ...base, object: 'chat.completion.chunk', choices: [{ index, delta, finish_reason: finish, logprobs: null }], ...usage,
  });
  for await (const ev of stream) {
    if (ev.type === 'delta') text.set(ev.choice, (text.get(ev.choice) ?? '') + ev.text);
    else if (ev.type === 'finish') {
      const t = text.get(ev.choice) ?? '';
      const call = ev.reason === 'stop' ? parseToolCall(t, tools) : null;
      if (call) {
        yield chunk(ev.choice, { role: 'assistant', content: null, tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] });
        yield chunk(ev.choice, { tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] });
        yield chunk(ev.choice, {}, 'tool_calls');
      } else {
        yield chunk(ev.choice, { role: 'assistant', content: t });
        yield chunk(ev.choice, {}, ev.reason);
      }
    } else if (ev.type === 'done' && includeUsage) {
      yield { ...base, object: 'chat.completion.chunk', choices: [], usage: ev.usage };
    }
  }
}

/** `engine.completions`: OpenAI's legacy text-completion API, on a raw prompt. */
export class TextCompletions {
  constructor(private readonly engine: EngineHandle) {}

  create(params: CompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<CompletionChunk>>;
  create(params: CompletionCreateParams & { stream?: false | null }, opts?: RequestOptions): Promise<Completion>;
  create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>>;
  create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>> {
    const promptChars = typeof params.prompt === 'string' ? params.prompt.length : 0;
    return run(this.engine, params, opts, 'cmpl', (base, choices, usage): Completion => ({
      ...base,
      object: 'text_completion',
      choices: choices.map((c, index) => ({
        index, text: c.text, finish_reason: c.finish ?? 'stop', logprobs: c.logprobs ? legacyLogprobs(c.logprobs, promptChars) : null,
      })),
      usage,
    }), (stream, base, includeUsage) => textChunks(stream, base, includeUsage, promptChars));
  }
}

/** As chatChunks, except that chunks before the usage chunk have no `usage` key (OpenAI's Completion type has no null usage). */
async function* textChunks(stream: EventStream, base: Base, includeUsage: boolean, promptChars: number): AsyncIterable<CompletionChunk> {
  const length = new Map<number, number>();
  for await (const ev of stream) {
    if (ev.type === 'delta') {
      const offset = length.get(ev.choice) ?? 0;
      length.set(ev.choice, offset + ev.text.length);
      const logprobs = ev.logprobs ? legacyLogprobs(placed(ev.logprobs, offset), promptChars) : null;
      yield { ...base, object: 'text_completion', choices: [{ index: ev.choice, text: ev.text, finish_reason: null, logprobs }] };
    } else if (ev.type === 'finish') {
      yield { ...base, object: 'text_completion', choices: [{ index: ev.choice, text: '', finish_reason: ev.reason, logprobs: null }] };
    } else if (ev.type === 'done' && includeUsage) {
      yield { ...base, object: 'text_completion', choices: [], usage: ev.usage };
    }
  }
}
