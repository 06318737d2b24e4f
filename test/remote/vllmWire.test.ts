import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, AuthError, ConfigError, InvalidParamsError, NetworkError } from '../../src/errors.ts';
import { RemoteEngine } from '../../src/remote/RemoteEngine.ts';
import { type Handler, json, sleep, startServer, type TestServer } from './httpServer.ts';
import { chatChunk, chatRoleChunk, DONE, errorBody, type Head, legacyErrorBody, SSE_HEADERS, sse, textChunk, UNAUTHORIZED, usageChunk } from './vllmWire.ts';

/** Replays of vLLM's answers, byte for byte as vllmWire.ts documents them, to a RemoteEngine. */
const H: Head = { id: 'chatcmpl-8d7f', created: 1764500000, model: 'meta-llama/Llama-3.1-8B-Instruct' };
const messages = [{ role: 'user' as const, content: 'Hi' }];

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(handler: Handler, opts: { idleTimeoutMs?: number; apiKey?: string } = {}): Promise<{ engine: RemoteEngine; requests: { body: Record<string, unknown>; auth: string | undefined }[] }> {
  const requests: { body: Record<string, unknown>; auth: string | undefined }[] = [];
  server = await startServer((req, res, body) => {
    requests.push({ body: body ? (JSON.parse(body) as Record<string, unknown>) : {}, auth: req.headers.authorization });
    return handler(req, res, body);
  });
  return { engine: new RemoteEngine({ baseURL: server.baseURL, model: H.model, ...opts }), requests };
}

/** A streaming answer: headers, then each piece as it is given (a string, or a pause in ms). */
const stream = (...pieces: (string | number)[]): Handler => async (_req, res) => {
  res.writeHead(200, SSE_HEADERS);
  for (const p of pieces) {
    if (typeof p === 'number') await sleep(p);
    else res.write(p);
  }
  res.end();
};

const greeting = [
  sse(chatRoleChunk(H, 0)),
  sse(chatChunk(H, 0, 'Hello', null)),
  sse(chatChunk(H, 0, ' there', null)),
  sse(chatChunk(H, 0, '!', null, 'stop')),
  sse(usageChunk(H, 'chat.completion.chunk', { prompt_tokens: 9, completion_tokens: 3 })),
  DONE,
];

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('streamed chunks and the usage chunk', () => {
  it('a chat answer: the role chunk, text, the finish riding on the last text, usage without prompt_tokens_details', async () => {
    const { engine, requests } = await serve(stream(...greeting));
    const r = await engine.chat.completions.create({ messages, temperature: 0 });
    expect(r.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Hello there!', refusal: null }, finish_reason: 'stop', logprobs: null }]);
    expect(r.usage).toEqual({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } });
    expect(r.model).toBe(H.model);
    // What went to the server: the page's parameters, the served model, always a stream with usage.
    expect(requests[0].body).toEqual({ messages, temperature: 0, model: H.model, stream: true, stream_options: { include_usage: true } });
  });

  it('streamed to the page: one chunk per text, the finish apart, the usage chunk when asked', async () => {
    const { engine } = await serve(stream(...greeting));
    const chunks = await drain(await engine.chat.completions.create({ messages, stream: true, stream_options: { include_usage: true } }));
    expect(chunks.map((c) => [c.choices[0]?.delta.content ?? null, c.choices[0]?.finish_reason ?? null])).toEqual([
      ['Hello', null], [' there', null], ['!', null], [null, 'stop'], [null, null],
    ]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 3 });
  });

  it("text logprobs: vLLM's completion-relative offsets become prompt-relative, its dict the k best plus the chosen", async () => {
    const lp = (tokens: string[], offsets: number[], tops: Record<string, number>[]) => ({ text_offset: offsets, token_logprobs: tokens.map((t, i) => tops[i][t]), tokens, top_logprobs: tops });
    const { engine } = await serve(stream(
      sse(textChunk({ ...H, id: 'cmpl-1' }, 0, ' upon', lp([' upon'], [0], [{ ' upon': -0.1 }]))),
      // The chosen token is not among the k = 1 best: the dict holds both.
      sse(textChunk({ ...H, id: 'cmpl-1' }, 0, ' a', lp([' a'], [5], [{ ' the': -0.5, ' a': -1.5 }]), 'length')),
      sse(usageChunk({ ...H, id: 'cmpl-1' }, 'text_completion', { prompt_tokens: 4, completion_tokens: 2, cached_tokens: 2 })),
      DONE,
    ));
    const r = await engine.completions.create({ prompt: 'Once', max_tokens: 2, logprobs: 1 });
    expect(r.choices[0].text).toBe(' upon a');
    expect(r.choices[0].logprobs).toEqual({ tokens: [' upon', ' a'], token_logprobs: [-0.1, -1.5], top_logprobs: [{ ' upon': -0.1 }, { ' the': -0.5, ' a': -1.5 }], text_offset: [4, 9] });
    expect(r.usage.prompt_tokens_details.cached_tokens).toBe(2);
  });

  it('n choices interleaved, each opened by its role chunk', async () => {
    const { engine } = await serve(stream(
      sse(chatRoleChunk(H, 0)), sse(chatRoleChunk(H, 1)),
      sse(chatChunk(H, 1, 'B', null)), sse(chatChunk(H, 0, 'A', null)),
      sse(chatChunk(H, 0, 'a', null, 'length')), sse(chatChunk(H, 1, 'b', null, 'stop')),
      sse(usageChunk(H, 'chat.completion.chunk', { prompt_tokens: 5, completion_tokens: 4 })), DONE,
    ));
    const r = await engine.chat.completions.create({ messages, n: 2 });
    expect(r.choices.map((c) => [c.message.content, c.finish_reason])).toEqual([['Aa', 'length'], ['Bb', 'stop']]);
  });
});

describe('error bodies', () => {
  const refusedWith = async (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const { engine } = await serve((_req, res) => json(res, status, body, headers));
    return engine.chat.completions.create({ messages }).catch((x: unknown) => x);
  };

  it('400 is an InvalidParamsError naming the parameter, from the nested and the older flat body', async () => {
    expect(await refusedWith(400, errorBody(400, 'BadRequestError', 'top_p must be in (0, 1], got 5.0.', 'top_p'))).toMatchObject({ name: 'InvalidParamsError', param: 'top_p' });
    expect(await refusedWith(400, legacyErrorBody(400, 'BadRequestError', 'bad n', 'n'))).toMatchObject({ name: 'InvalidParamsError', param: 'n', message: 'n: bad n' });
    // vLLM's pydantic validation names the body field by its place.
    expect(await refusedWith(400, errorBody(400, 'Bad Request', '1 validation error', 'body.temperature'))).toMatchObject({ param: 'temperature' });
  });

  it('401 and 403 are AuthErrors; 404 of the model a ConfigError on model, of the path one on baseURL', async () => {
    expect(await refusedWith(401, UNAUTHORIZED)).toMatchObject({ name: 'AuthError', status: 401 });
    expect(await refusedWith(403, errorBody(403, 'Forbidden', 'Forbidden'))).toBeInstanceOf(AuthError);
    const model = await refusedWith(404, errorBody(404, 'NotFoundError', `The model \`${H.model}\` does not exist.`, 'model'));
    expect(model).toBeInstanceOf(ConfigError);
    expect(model).toMatchObject({ field: 'model' });
    expect(await refusedWith(404, errorBody(404, 'Not Found', 'Not Found'))).toMatchObject({ name: 'ConfigError', field: 'baseURL' });
  });

  it('429 and 5xx are NetworkErrors with the status and Retry-After (seconds or a date)', async () => {
    const limited = await refusedWith(429, errorBody(429, 'Too Many Requests', 'slow down'), { 'retry-after': '7' });
    expect(limited).toBeInstanceOf(NetworkError);
    expect(limited).toMatchObject({ status: 429, retryAfterSeconds: 7 });
    expect((limited as Error).message).toMatch(/retry after 7 s/);
    const later = new Date(Date.now() + 30_000).toUTCString();
    const busy = await refusedWith(503, 'Service Unavailable', { 'retry-after': later });
    expect(busy).toMatchObject({ name: 'NetworkError', status: 503 });
    expect((busy as NetworkError).retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(await refusedWith(500, errorBody(500, 'InternalServerError', 'boom'))).toMatchObject({ name: 'NetworkError', status: 500, retryAfterSeconds: undefined });
  });

  it('an error event after the stream began ends it with the text so far', async () => {
    const { engine } = await serve(stream(sse(chatRoleChunk(H, 0)), sse(chatChunk(H, 0, 'Hel', null)), sse(errorBody(500, 'InternalServerError', 'Internal server error')), DONE));
    const e = await engine.chat.completions.create({ messages }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'NetworkError', status: 500, partialText: ['Hel'] });
  });
});

describe('broken streams', () => {
  const cut: Handler = async (_req, res) => {
    res.writeHead(200, SSE_HEADERS);
    res.write(sse(chatRoleChunk(H, 0)) + sse(chatChunk(H, 0, 'Once upon', null)) + 'data: {"id":"chatcm');
    await sleep(20);
    res.socket?.destroy();
  };

  it('a connection cut mid-answer is a NetworkError keeping the text so far, streamed or whole', async () => {
    const { engine } = await serve(cut);
    const whole = await engine.chat.completions.create({ messages }).catch((x: unknown) => x);
    expect(whole).toBeInstanceOf(NetworkError);
    expect(whole).toMatchObject({ partialText: ['Once upon'] });
    const seen: string[] = [];
    const streamed = await (async () => {
      for await (const c of await engine.chat.completions.create({ messages, stream: true })) seen.push(c.choices[0].delta.content ?? '');
    })().catch((x: unknown) => x);
    expect(seen.join('')).toBe('Once upon');
    expect(streamed).toMatchObject({ name: 'NetworkError', partialText: ['Once upon'] });
  });

  it('a stream closed cleanly but without data: [DONE] is cut too', async () => {
    const { engine } = await serve(stream(sse(chatRoleChunk(H, 0)), sse(chatChunk(H, 0, 'Once', null))));
    expect(await engine.chat.completions.create({ messages }).catch((x: unknown) => x)).toMatchObject({ name: 'NetworkError', partialText: ['Once'], message: expect.stringMatching(/\[DONE\]/) });
  });

  it('malformed chunks are NetworkErrors that say what came: not JSON, no choices, no usage', async () => {
    for (const [bad, said] of [['data: {"choices": [\n\n', /not JSON/], [sse({ id: 'x', object: 'chat.completion.chunk' }), /without a choices list/], [sse({ choices: [{ delta: {} }] }), /without an index/]] as const) {
      const { engine } = await serve(stream(sse(chatChunk(H, 0, 'ok', null)), bad, DONE));
      const e = await engine.chat.completions.create({ messages }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetworkError);
      expect((e as Error).message).toMatch(said);
      expect(e).toMatchObject({ partialText: ['ok'] });
      await server!.close();
    }
    const { engine } = await serve(stream(sse(chatChunk(H, 0, 'ok', null, 'stop')), DONE));
    expect(((await engine.chat.completions.create({ messages }).catch((x: unknown) => x)) as Error).message).toMatch(/usage/);
  });

  it('the events may arrive a byte at a time, with CRLF line ends and keep-alive comments', async () => {
    const text = greeting.join(': ping\n\n').replace(/\n/g, '\r\n');
    const { engine } = await serve(stream(...[...text].flatMap((ch, i) => (i % 200 === 0 ? [ch, 1] : [ch]))));
    expect((await engine.chat.completions.create({ messages })).choices[0].message.content).toBe('Hello there!');
  });

  it("the server's tool calls come back as Folio's; several in one choice are refused by name", async () => {
    // vLLM's tool parsers stream DeltaToolCall(index, id, type, function=DeltaFunctionCall(name, arguments)): the name first, then the arguments in pieces.
    const delta = (calls: object[], finish: string | null = null) => ({ id: H.id, object: 'chat.completion.chunk', created: H.created, model: H.model, choices: [{ index: 0, delta: { tool_calls: calls }, logprobs: null, finish_reason: finish }] });
    const named = (index: number, name: string) => ({ index, id: `chatcmpl-tool-${index}`, type: 'function', function: { name, arguments: '' } });
    const args = (index: number, a: string) => ({ index, function: { arguments: a } });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const { engine, requests } = await serve(stream(
      sse(chatRoleChunk(H, 0)), sse(delta([named(0, 'get_weather')])), sse(delta([args(0, '{"city": ')])), sse(delta([args(0, '"Paris"}')], 'tool_calls')),
      sse(usageChunk(H, 'chat.completion.chunk', { prompt_tokens: 40, completion_tokens: 9 })), DONE,
    ));
    const r = await engine.chat.completions.create({ messages, tools });
    expect(requests[0].body.tools).toEqual(tools);
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.tool_calls?.map((c) => c.function)).toEqual([{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    await server!.close();
    const two = await serve(stream(sse(delta([named(0, 'get_weather'), named(1, 'get_weather')], 'tool_calls')), DONE));
    await expect(two.engine.chat.completions.create({ messages, tools })).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'parallel_tool_calls' });
  });
});

describe('a slow server, and aborts', () => {
  const trickle = (gap: number, count: number): Handler => async (_req, res: ServerResponse) => {
    res.writeHead(200, SSE_HEADERS);
    res.write(sse(chatRoleChunk(H, 0)));
    for (let i = 0; i < count; i++) {
      if (res.destroyed) return;
      await sleep(gap);
      res.write(sse(chatChunk(H, 0, `w${i} `, null)));
    }
    res.write(sse(chatChunk(H, 0, '', null, 'length')) + sse(usageChunk(H, 'chat.completion.chunk', { prompt_tokens: 3, completion_tokens: count })) + DONE);
    res.end();
  };

  it('chunks reach the page as they come, not when the server is done; stats count the request', async () => {
    const { engine } = await serve(trickle(40, 5));
    const t0 = performance.now();
    const times: number[] = [];
    for await (const c of await engine.chat.completions.create({ messages, stream: true })) if (c.choices[0].delta.content) times.push(performance.now() - t0);
    expect(times).toHaveLength(5);
    expect(times[0]).toBeLessThan(times[4] - 100);
    const s = await engine.stats();
    expect(s).toMatchObject({ backend: 'remote', model: H.model, requests: { running: 0, finished: 1, failed: 0 }, tokens: { prompt: 3, generated: 5 } });
    expect(s.latency.meanFirstTokenMs).toBeGreaterThanOrEqual(30);
    expect(s.latency.meanRequestMs).toBeGreaterThan(s.latency.meanFirstTokenMs!);
    expect(s.tokens.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(await engine.kvMap()).toEqual([]);
  });

  it('a server that goes quiet past idleTimeoutMs ends the request with a NetworkError and the text so far', async () => {
    let calls = 0;
    const stall = stream(sse(chatRoleChunk(H, 0)), sse(chatChunk(H, 0, 'Once', null)), 5000);
    const { engine } = await serve((req, res, body) => (calls++ === 0 ? stream(...greeting) : stall)(req, res, body), { idleTimeoutMs: 800 });
    // A first answer warms this process's fetch up (its first call loads undici, slow on a busy machine).
    expect((await engine.chat.completions.create({ messages })).choices[0].message.content).toBe('Hello there!');
    const e = await engine.chat.completions.create({ messages }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'NetworkError', partialText: ['Once'], message: expect.stringMatching(/idleTimeoutMs/) });
    expect((await engine.stats()).requests.failed).toBe(1);
  });

  it('aborting mid-stream closes the connection; so does an abort before the server answered', async () => {
    const { engine } = await serve(trickle(30, 100));
    const controller = new AbortController();
    const chunks = await engine.chat.completions.create({ messages, stream: true }, { signal: controller.signal });
    const got = await (async () => {
      for await (const c of chunks) if (c.choices[0].delta.content === 'w1 ') controller.abort();
    })().catch((x: unknown) => x);
    expect(got).toBeInstanceOf(AbortError);
    await expect.poll(() => server!.closedEarly).toBe(1);
    await server!.close();
    const slow = await serve(async (req, res) => {
      await sleep(3000);
      if (!res.destroyed) await trickle(10, 1)(req, res, '');
    });
    const late = new AbortController();
    const pending = slow.engine.chat.completions.create({ messages }, { signal: late.signal });
    setTimeout(() => late.abort(), 50);
    const t0 = performance.now();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect.poll(() => server!.closedEarly).toBe(1);
    expect((await slow.engine.stats()).requests).toMatchObject({ running: 0, aborted: 1 });
  });
});

describe('the API key, the model list, and what a remote engine does not have', () => {
  it('sends the key as a Bearer token; a missing or wrong one is an AuthError', async () => {
    const { engine, requests } = await serve((req, res) => (req.headers.authorization === 'Bearer sk-test' ? stream(...greeting)(req, res, '') : json(res, 401, UNAUTHORIZED)), { apiKey: 'sk-test' });
    expect((await engine.chat.completions.create({ messages })).choices[0].message.content).toBe('Hello there!');
    expect(requests[0].auth).toBe('Bearer sk-test');
    const keyless = new RemoteEngine({ baseURL: server!.baseURL, model: H.model });
    await expect(keyless.chat.completions.create({ messages })).rejects.toBeInstanceOf(AuthError);
  });

  it('pinPrefix and the cache are refused by name; add_bos is refused rather than sent to be ignored', async () => {
    const { engine, requests } = await serve(stream(...greeting));
    await expect(engine.pinPrefix('You are kind.')).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'pinPrefix' });
    await expect(engine.cache.clear()).rejects.toMatchObject({ param: 'cache' });
    expect(await engine.cache.list()).toEqual([]);
    await expect(engine.completions.create({ prompt: 'x', add_bos: false })).rejects.toMatchObject({ param: 'add_bos' });
    await expect(engine.chat.completions.create({ messages, grammar: 'root ::= "a"' })).rejects.toMatchObject({ param: 'grammar' });
    await expect(engine.completions.create({ prompt: 'x', logit_bias: { '5': Infinity } })).rejects.toMatchObject({ param: 'logit_bias.5' });
    expect(requests).toHaveLength(0);
  });

  it('bad options are InvalidParamsErrors naming them', () => {
    expect(() => new RemoteEngine({ baseURL: 'localhost:8000', model: 'm' })).toThrow(InvalidParamsError);
    expect(() => new RemoteEngine({ baseURL: 'v1', model: 'm' })).toThrow(/baseURL/);
    expect(() => new RemoteEngine({ baseURL: 'http://h/v1', model: '' })).toThrow(/model/);
    expect(() => new RemoteEngine({ baseURL: 'http://h/v1', model: 'm', idleTimeoutMs: -1 })).toThrow(/idleTimeoutMs/);
  });
});
