import type { ServerResponse } from 'node:http';
import type { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { ChatCompletionChunk, CompletionChunk, LegacyLogprobs } from '../../src/api/openai.ts';
import { FolioError, InvalidParamsError } from '../../src/errors.ts';
import { json, startServer, type TestServer } from './httpServer.ts';
import { chatChunk, chatRoleChunk, DONE, errorBody, type Head, SSE_HEADERS, sse, textChunk, UNAUTHORIZED, usageChunk } from './vllmWire.ts';

/** What the server needs of an engine: the OpenAI-style surface. */
export type Surface = Pick<FolioEngine, 'chat' | 'completions'>;

/**
 * A stand-in for `vllm serve <model> --served-model-name <served>` whose generations come from a
 * local Folio engine: the requests and answers are vLLM's on the wire (see vllmWire.ts), so that
 * a remote engine pointed at it shows what it would do against vLLM serving the same model.
 * Validation is Folio's (its InvalidParamsError becomes vLLM's 400 body with the same `param`).
 */
export async function folioServer(api: Surface, served: string, opts: { apiKey?: string } = {}): Promise<TestServer> {
  return startServer(async (req, res, body) => {
    const path = (req.url ?? '').replace(/\?.*$/, '');
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return json(res, 401, UNAUTHORIZED);
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, { object: 'list', data: [{ id: served, object: 'model', created: 0, owned_by: 'vllm', root: served, parent: null, max_model_len: 512, permission: [] }] });
    }
    const chat = path === '/v1/chat/completions';
    if (req.method !== 'POST' || (!chat && path !== '/v1/completions')) return json(res, 404, errorBody(404, 'Not Found', 'Not Found'));
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return json(res, 400, errorBody(400, 'Bad Request', 'JSON decode error'));
    }
    const { model, stream, stream_options, ...rest } = params;
    if (model !== served) return json(res, 404, errorBody(404, 'NotFoundError', `The model \`${String(model)}\` does not exist.`, 'model'));
    const includeUsage = (stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const controller = new AbortController();
    // The client went away: stop generating, as vLLM aborts a request whose connection closed.
    res.on('close', () => controller.abort());
    const signal = { signal: controller.signal };
    let out: AsyncIterable<ChatCompletionChunk | CompletionChunk> | object;
    try {
      const p = { ...rest, stream: stream === true, ...(stream === true ? { stream_options: { include_usage: true } } : {}) };
      out = chat ? await api.chat.completions.create(p as never, signal) : await api.completions.create(p as never, signal);
    } catch (e) {
      return json(res, ...refusal(e));
    }
    if (stream !== true) return json(res, 200, out);
    res.writeHead(200, SSE_HEADERS);
    const head: Head = { id: `${chat ? 'chatcmpl' : 'cmpl'}-${Math.random().toString(16).slice(2)}`, created: Math.floor(Date.now() / 1000), model: served };
    try {
      if (chat) await streamChat(res, head, out as AsyncIterable<ChatCompletionChunk>, Number(rest.n ?? 1), includeUsage);
      else await streamText(res, head, out as AsyncIterable<CompletionChunk>, String(rest.prompt).length, includeUsage);
    } catch (e) {
      if (controller.signal.aborted) return;
      const [status, err] = refusal(e);
      res.write(sse(err.error ? err : errorBody(status, 'InternalServerError', String(e))));
    }
    res.end(DONE);
  });
}

/** vLLM's status and body for an error (SERVING `create_error_response`). */
function refusal(e: unknown): [number, { error?: unknown }] {
  if (e instanceof InvalidParamsError) return [400, errorBody(400, 'BadRequestError', e.message, e.param)];
  if (e instanceof FolioError) return [400, errorBody(400, 'BadRequestError', e.message)];
  return [500, errorBody(500, 'InternalServerError', String(e))];
}

/**
 * vLLM sends each choice's role chunk first, then its text, the last text riding on the chunk
 * that carries finish_reason: each delta is held until the choice's next event shows whether it
 * is the last.
 */
async function streamChat(res: ServerResponse, h: Head, chunks: AsyncIterable<ChatCompletionChunk>, n: number, includeUsage: boolean): Promise<void> {
  for (let i = 0; i < n; i++) res.write(sse(chatRoleChunk(h, i)));
  const held = new Map<number, { content: string; logprobs: object | null }>();
  const flush = (i: number) => {
    const d = held.get(i);
    if (d) res.write(sse(chatChunk(h, i, d.content, d.logprobs)));
    held.delete(i);
  };
  for await (const c of chunks) {
    if (c.usage && includeUsage) res.write(sse(usageChunk(h, 'chat.completion.chunk', { ...c.usage, cached_tokens: c.usage.prompt_tokens_details.cached_tokens })));
    for (const ch of c.choices) {
      if (ch.delta.tool_calls) {
        // A tool parser's DeltaMessage(tool_calls=[...]), sent as it comes.
        flush(ch.index);
        res.write(sse({ ...(chatChunk(h, ch.index, '', null) as { choices: { delta: object }[] }), choices: [{ index: ch.index, delta: { tool_calls: ch.delta.tool_calls }, logprobs: null, finish_reason: null, token_ids: null }] }));
      }
      if (ch.finish_reason) {
        const d = held.get(ch.index);
        held.delete(ch.index);
        res.write(sse(chatChunk(h, ch.index, d?.content ?? '', d?.logprobs ?? null, ch.finish_reason)));
      } else if (!ch.delta.tool_calls) {
        flush(ch.index);
        held.set(ch.index, { content: ch.delta.content ?? '', logprobs: ch.logprobs ? { content: ch.logprobs.content } : null });
      }
    }
  }
}

/** As streamChat for text completions (no role chunk); logprobs' text_offset counted from the completion's start, as vLLM does. */
async function streamText(res: ServerResponse, h: Head, chunks: AsyncIterable<CompletionChunk>, promptChars: number, includeUsage: boolean): Promise<void> {
  const held = new Map<number, { text: string; logprobs: LegacyLogprobs | null }>();
  const vllmOffsets = (lp: LegacyLogprobs | null) => lp && { ...lp, text_offset: lp.text_offset.map((o) => o - promptChars) };
  for await (const c of chunks) {
    if (c.usage && includeUsage) res.write(sse(usageChunk(h, 'text_completion', { ...c.usage, cached_tokens: c.usage.prompt_tokens_details.cached_tokens })));
    for (const ch of c.choices) {
      const d = held.get(ch.index);
      held.delete(ch.index);
      if (ch.finish_reason) {
        res.write(sse(textChunk(h, ch.index, d?.text ?? '', vllmOffsets(d?.logprobs ?? null), ch.finish_reason)));
      } else {
        if (d) res.write(sse(textChunk(h, ch.index, d.text, vllmOffsets(d.logprobs))));
        held.set(ch.index, { text: ch.text, logprobs: ch.logprobs });
      }
    }
  }
}
