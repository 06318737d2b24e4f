import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, EngineClosedError, InvalidParamsError } from '../../src/errors.ts';
import { type Backend, localBackend, remoteBackend } from './surfaces.ts';

/**
 * One set of OpenAI behaviours, run unchanged against the local CPU engine and against a
 * RemoteEngine talking vLLM's wire format to a server that runs the same model (stories260K):
 * whatever a page sees from one it must see from the other. Nothing here depends on the
 * model beyond both sides having the same one.
 */
async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const PROMPT = 'Once upon a time';
const greedy = { temperature: 0, max_tokens: 10 };
const story = [{ role: 'user' as const, content: 'Tell me a story' }];
/**
 * What the first backend answered, by question: the second must answer the same (greedy text,
 * seeded samples, usage, logprobs), so that a shaping step both got wrong alike is caught too.
 */
const answers = new Map<string, unknown>();
function agree(question: string, answer: unknown): void {
  if (answers.has(question)) expect(answer, question).toEqual(answers.get(question));
  else answers.set(question, answer);
}

const counts = (u: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null | undefined) => u && { p: u.prompt_tokens, c: u.completion_tokens, t: u.total_tokens };

describe.each([
  ['local CPU engine', localBackend],
  ['remote engine over vLLM wire format', remoteBackend],
])('%s', (_, make) => {
  let b: Backend;
  beforeAll(async () => {
    b = await make();
  });
  afterAll(() => b.close());

  it('a whole chat answer equals its stream; n choices with a seed are reproducible', async () => {
    const whole = await b.api.chat.completions.create({ messages: story, ...greedy });
    expect(whole.object).toBe('chat.completion');
    expect(whole.choices[0].message.role).toBe('assistant');
    expect(whole.choices[0].finish_reason).toBe('length');
    agree('greedy chat', [whole.choices[0].message.content, counts(whole.usage)]);
    const streamed = await all(await b.api.chat.completions.create({ messages: story, ...greedy, stream: true }));
    expect(streamed.every((c) => c.object === 'chat.completion.chunk' && !('usage' in c) && c.choices.length === 1)).toBe(true);
    expect(streamed[0].choices[0].delta.role).toBe('assistant');
    expect(streamed.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content);
    expect(streamed.at(-1)!.choices[0].finish_reason).toBe('length');
    const sampled = { messages: story, max_tokens: 8, temperature: 1, seed: 7, n: 3 };
    const a = await b.api.chat.completions.create(sampled);
    const again = await b.api.chat.completions.create(sampled);
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(again.choices.map((c) => c.message.content)).toEqual(a.choices.map((c) => c.message.content));
    expect(new Set(a.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
    agree('seeded n=3', a.choices.map((c) => c.message.content));
    const chunks = await all(await b.api.chat.completions.create({ ...sampled, stream: true }));
    const texts = [0, 1, 2].map((i) => chunks.flatMap((c) => c.choices.filter((ch) => ch.index === i).map((ch) => ch.delta.content ?? '')).join(''));
    expect(texts).toEqual(a.choices.map((c) => c.message.content));
  });

  it('stream_options.include_usage: usage null on every chunk and a last chunk with no choices carries it (chat); no usage key before it (text)', async () => {
    const whole = await b.api.chat.completions.create({ messages: story, ...greedy });
    const counted = await all(await b.api.chat.completions.create({ messages: story, ...greedy, stream: true, stream_options: { include_usage: true } }));
    expect(counted.at(-1)!.choices).toEqual([]);
    expect(counts(counted.at(-1)!.usage)).toEqual(counts(whole.usage));
    expect(counted.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true);
    const text = await b.api.completions.create({ prompt: PROMPT, ...greedy });
    const textCounted = await all(await b.api.completions.create({ prompt: PROMPT, ...greedy, stream: true, stream_options: { include_usage: true } }));
    expect(counts(textCounted.at(-1)!.usage)).toEqual(counts(text.usage));
    expect(textCounted.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
    expect(textCounted.slice(0, -1).map((c) => c.choices[0].text).join('')).toBe(text.choices[0].text);
    agree('greedy text', [text.choices[0].text, counts(text.usage)]);
  });

  it('max_completion_tokens limits as max_tokens does; a stop string ends the choice before it', async () => {
    const r = await b.api.completions.create({ prompt: PROMPT, temperature: 0, max_completion_tokens: 3 });
    expect([r.usage.completion_tokens, r.choices[0].finish_reason]).toEqual([3, 'length']);
    const free = (await b.api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30 })).choices[0].text;
    const stop = free.trim().split(/\s+/)[2];
    const stopped = await b.api.completions.create({ prompt: PROMPT, temperature: 0, max_tokens: 30, stop: [stop] });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].text).toBe(free.slice(0, free.indexOf(stop)));
    agree('stop', [stop, stopped.choices[0].text]);
  });

  it('the developer role and text parts are the system message and the string they join to', async () => {
    const asSystem = await b.api.chat.completions.create({ messages: [{ role: 'system', content: 'Be kind.' }, ...story], ...greedy });
    const asParts = await b.api.chat.completions.create({
      messages: [{ role: 'developer', content: [{ type: 'text', text: 'Be ' }, { type: 'text', text: 'kind.' }] }, { role: 'user', content: [{ type: 'text', text: 'Tell me a story' }] }],
      ...greedy,
    });
    expect(asParts.choices[0].message.content).toBe(asSystem.choices[0].message.content);
    expect(asParts.usage.prompt_tokens).toBe(asSystem.usage.prompt_tokens);
    const other = await b.api.chat.completions.create({ messages: [{ role: 'user', content: 'Be kind.' }, ...story], ...greedy });
    expect(other.usage.prompt_tokens).not.toBe(asSystem.usage.prompt_tokens);
    agree('system prompt', [asSystem.choices[0].message.content, asSystem.usage.prompt_tokens, other.usage.prompt_tokens]);
  });

  it('legacy text logprobs: k best plus the chosen token, offsets from the prompt start, the same whole and streamed', async () => {
    const r = await b.api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 2 });
    const lp = r.choices[0].logprobs!;
    expect(lp.tokens.length).toBe(r.usage.completion_tokens);
    expect(lp.text_offset[0]).toBe(PROMPT.length);
    lp.top_logprobs.forEach((top, i) => {
      expect(Object.keys(top).length).toBeGreaterThanOrEqual(2);
      expect(Object.keys(top).length).toBeLessThanOrEqual(3);
      expect(top[lp.tokens[i]]).toBe(lp.token_logprobs[i]);
    });
    const chunks = await all(await b.api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 2, stream: true }));
    const parts = chunks.flatMap((c) => c.choices.map((ch) => ch.logprobs)).filter((l) => l !== null);
    expect({
      tokens: parts.flatMap((l) => l.tokens), token_logprobs: parts.flatMap((l) => l.token_logprobs),
      top_logprobs: parts.flatMap((l) => l.top_logprobs), text_offset: parts.flatMap((l) => l.text_offset),
    }).toEqual(lp);
    const zero = (await b.api.completions.create({ prompt: PROMPT, ...greedy, logprobs: 0 })).choices[0].logprobs!;
    zero.top_logprobs.forEach((top, i) => expect(top).toEqual({ [zero.tokens[i]]: zero.token_logprobs[i] }));
    agree('text logprobs', lp);
  });

  it('chat logprobs: top_logprobs alternatives per token, the same whole and streamed', async () => {
    const r = await b.api.chat.completions.create({ messages: story, ...greedy, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0].logprobs!.content;
    expect(content.length).toBe(r.usage.completion_tokens);
    for (const t of content) {
      expect(t.top_logprobs.length).toBe(3);
      expect(t.bytes).toEqual([...new TextEncoder().encode(t.token)]);
      expect(t.logprob).toBeCloseTo(Math.max(...t.top_logprobs.map((a) => a.logprob)), 5);
    }
    const chunks = await all(await b.api.chat.completions.create({ messages: story, ...greedy, logprobs: true, top_logprobs: 3, stream: true }));
    expect(chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? [])).toEqual(content);
    agree('chat logprobs', content);
  });

  it('tools pass through: a forced function comes back as one tool call, whole or streamed; response_format gives JSON', async () => {
    const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } }, required: ['city'], additionalProperties: false } } };
    const ask = { messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weather], tool_choice: 'required' as const, temperature: 1, seed: 3, max_tokens: 60 };
    const r = await b.api.chat.completions.create(ask);
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    const call = r.choices[0].message.tool_calls![0];
    expect(call.function.name).toBe('get_weather');
    expect(typeof JSON.parse(call.function.arguments).city).toBe('string');
    const chunks = await all(await b.api.chat.completions.create({ ...ask, stream: true }));
    const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
    expect(calls.map((t) => t.function.arguments).join('')).toBe(call.function.arguments);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
    agree('tool call', call.function);
    const j = await b.api.chat.completions.create({ messages: story, response_format: { type: 'json_object' }, temperature: 1, seed: 1, max_tokens: 24 });
    // Whole JSON when it stopped by itself; an object's beginning when cut at max_tokens.
    const json = j.choices[0].message.content!;
    if (j.choices[0].finish_reason === 'stop') expect(typeof JSON.parse(json)).toBe('object');
    else expect(json.trimStart()).toMatch(/^\{/);
    agree('json', j.choices[0].message.content);
  });

  it("bad parameters are InvalidParamsErrors naming them, and the engine goes on", async () => {
    const image = b.api.chat.completions.create({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] as never });
    await expect(image).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'messages[0].content[0].type' });
    await expect(b.api.completions.create({ prompt: PROMPT, temperature: NaN })).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'temperature' });
    await expect(b.api.completions.create({ prompt: PROMPT, top_p: 5, stream: true })).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'top_p' });
    await expect(b.api.completions.create({ prompt: PROMPT, stream_options: { include_usage: true } })).rejects.toMatchObject({ param: 'stream_options' });
    await expect(b.api.chat.completions.create({ messages: story, model: 'gpt-4o' })).rejects.toBeInstanceOf(InvalidParamsError);
    await expect(b.api.completions.create({ prompt: PROMPT, model: 'stories15M', stream: true })).rejects.toMatchObject({ param: 'model' });
    const ok = await b.api.completions.create({ prompt: PROMPT, max_tokens: 2, model: 'stories260K' });
    expect(ok.usage.completion_tokens).toBe(2);
    expect(ok.model).toMatch(/stories260K/);
  });

  it('an abort before the answer, an aborted signal, or leaving a stream early stop the generation and free its blocks', async () => {
    const controller = new AbortController();
    const pending = b.api.completions.create({ prompt: PROMPT, max_tokens: 400, temperature: 0, stream: true }, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await expect(b.api.completions.create({ prompt: PROMPT, max_tokens: 4 }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const before = b.engine.stats().tokens.generated;
    const stream = await b.api.completions.create({ prompt: PROMPT, max_tokens: 400, temperature: 0, stream: true });
    let seen = 0;
    for await (const _ of stream) if (++seen === 3) break;
    // The engine behind (here, or behind the server) sees the request end within a few steps.
    await expect.poll(() => b.engine.stats().requests.running + b.engine.stats().requests.waiting, { timeout: 5000 }).toBe(0);
    await b.engine.idle();
    expect(b.engine.stats().tokens.generated - before).toBeLessThan(60);
    expect(b.engine.scheduler.stats().blocksUsed).toBe(0);
  });

  it('dispose() ends a stream in flight with EngineClosedError, and every later call', async () => {
    const api = b.fresh();
    const stream = await api.completions.create({ prompt: PROMPT, max_tokens: 300, temperature: 0, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    api.dispose();
    await expect((async () => { for (;;) if ((await it.next()).done) return; })()).rejects.toBeInstanceOf(EngineClosedError);
    await expect(api.completions.create({ prompt: PROMPT, max_tokens: 2 })).rejects.toMatchObject({ name: 'EngineClosedError', reason: 'disposed' });
    await b.engine.idle();
    expect(b.engine.scheduler.stats().blocksUsed).toBe(0);
  });
});
