import type { EngineHandle } from '../engine/events.ts';
import { AbortError } from '../errors.ts';
import { abortable } from './abortable.ts';
import { EventStream } from './EventStream.ts';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams, Completion, CompletionChunk,
  CompletionCreateParams, FinishReason, RequestOptions, TokenLogprob, Usage,
} from './openai.ts';

let counter = 0;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36)}`;

interface Choice {
  text: string;
  finish: FinishReason | null;
  logprobs: TokenLogprob[] | null;
}

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
      choices[ev.choice].text += ev.text;
      if (ev.logprobs) (choices[ev.choice].logprobs ??= []).push(...ev.logprobs);
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
 * The part both OpenAI APIs share: start the request, then either stream chunks shaped by
 * `chunk`, or gather the choices and shape the whole response with `whole`.
 */
async function run<Whole, Chunk>(
  engine: EngineHandle,
  params: { stream?: boolean; n?: number },
  opts: RequestOptions | undefined,
  idPrefix: string,
  whole: (base: Base, choices: Choice[], usage: Usage) => Whole,
  chunks: (stream: EventStream, base: Base) => AsyncIterable<Chunk>,
): Promise<Whole | AsyncIterable<Chunk>> {
  const stream = await start(engine, params, opts);
  const base = { id: newId(idPrefix), created: Math.floor(Date.now() / 1000), model: await engine.modelName() };
  if (params.stream) return chunks(stream, base);
  const { choices, usage } = await collect(stream, params.n ?? 1);
  return whole(base, choices, usage);
}

/** `engine.chat.completions`: OpenAI's chat API, streaming or not. */
export class ChatCompletions {
  constructor(private readonly engine: EngineHandle) {}

  create(params: ChatCompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams & { stream?: false }, opts?: RequestOptions): Promise<ChatCompletion>;
  create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams, opts?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    return run(this.engine, params, opts, 'chatcmpl', (base, choices, usage): ChatCompletion => ({
      ...base,
      object: 'chat.completion',
      choices: choices.map((c, index) => ({
        index,
        message: { role: 'assistant', content: c.text },
        finish_reason: c.finish ?? 'stop',
        logprobs: c.logprobs ? { content: c.logprobs } : null,
      })),
      usage,
    }), chatChunks);
  }
}

async function* chatChunks(stream: EventStream, base: Base): AsyncIterable<ChatCompletionChunk> {
  const started = new Set<number>();
  for await (const ev of stream) {
    const chunk: ChatCompletionChunk = { ...base, object: 'chat.completion.chunk', choices: [] };
    if (ev.type === 'delta') {
      const delta = started.has(ev.choice) ? { content: ev.text } : { role: 'assistant' as const, content: ev.text };
      started.add(ev.choice);
      chunk.choices.push({ index: ev.choice, delta, finish_reason: null, logprobs: ev.logprobs ? { content: ev.logprobs } : null });
    } else if (ev.type === 'finish') {
      chunk.choices.push({ index: ev.choice, delta: {}, finish_reason: ev.reason, logprobs: null });
    } else if (ev.type === 'done') {
      chunk.usage = ev.usage;
    }
    yield chunk;
  }
}

/** `engine.completions`: OpenAI's legacy text-completion API, on a raw prompt. */
export class TextCompletions {
  constructor(private readonly engine: EngineHandle) {}

  create(params: CompletionCreateParams & { stream: true }, opts?: RequestOptions): Promise<AsyncIterable<CompletionChunk>>;
  create(params: CompletionCreateParams & { stream?: false }, opts?: RequestOptions): Promise<Completion>;
  create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>>;
  create(params: CompletionCreateParams, opts?: RequestOptions): Promise<Completion | AsyncIterable<CompletionChunk>> {
    return run(this.engine, params, opts, 'cmpl', (base, choices, usage): Completion => ({
      ...base,
      object: 'text_completion',
      choices: choices.map((c, index) => ({
        index, text: c.text, finish_reason: c.finish ?? 'stop', logprobs: c.logprobs ? { content: c.logprobs } : null,
      })),
      usage,
    }), textChunks);
  }
}

async function* textChunks(stream: EventStream, base: Base): AsyncIterable<CompletionChunk> {
  for await (const ev of stream) {
    const chunk: CompletionChunk = { ...base, object: 'text_completion', choices: [] };
    if (ev.type === 'delta') chunk.choices.push({ index: ev.choice, text: ev.text, finish_reason: null, logprobs: ev.logprobs ? { content: ev.logprobs } : null });
    else if (ev.type === 'finish') chunk.choices.push({ index: ev.choice, text: '', finish_reason: ev.reason, logprobs: null });
    else if (ev.type === 'done') chunk.usage = ev.usage;
    yield chunk;
  }
}
