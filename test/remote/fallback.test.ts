import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/api/createEngine.ts';
import { AbortError, ConfigError, WebGpuUnavailableError } from '../../src/errors.ts';
import { withRemoteFallback } from '../../src/remote/fallback.ts';
import { RemoteEngine } from '../../src/remote/RemoteEngine.ts';
import { json, startServer, type TestServer } from './httpServer.ts';
import { chatChunk, chatRoleChunk, DONE, type Head, SSE_HEADERS, sse, usageChunk } from './vllmWire.ts';

/** A server that lists one model and answers every chat with "Hi!". */
let server: TestServer;
const H: Head = { id: 'chatcmpl-1', created: 0, model: 'big-model' };
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.method === 'GET') return json(res, 200, { object: 'list', data: [{ id: 'big-model', object: 'model' }] });
    res.writeHead(200, SSE_HEADERS);
    res.end(sse(chatRoleChunk(H, 0)) + sse(chatChunk(H, 0, 'Hi!', null, 'stop')) + sse(usageChunk(H, 'chat.completion.chunk', { prompt_tokens: 2, completion_tokens: 1 })) + DONE);
  });
});
afterAll(() => server.close());

const endpoint = () => ({ baseURL: server.baseURL, model: 'big-model' });
const messages = [{ role: 'user' as const, content: 'Hello' }];
const noGpu = () => Promise.reject(new WebGpuUnavailableError('navigator.gpu is missing'));

describe("backend 'auto' with a remote endpoint", () => {
  it('falls back when the local model cannot load for a named reason, and info says why', async () => {
    const engine = await withRemoteFallback(noGpu, endpoint());
    expect(engine).toBeInstanceOf(RemoteEngine);
    const info = (engine as RemoteEngine).info;
    expect(info).toMatchObject({ backend: 'remote', model: 'big-model', fallbackReason: expect.stringMatching(/WebGpuUnavailableError: navigator.gpu is missing/) });
    expect((await (engine as RemoteEngine).chat.completions.create({ messages })).choices[0].message.content).toBe('Hi!');
  });

  it('keeps the local engine when it loads; a cancelled load or an unforeseen error is not a reason to leave', async () => {
    const local = { local: true };
    expect(await withRemoteFallback(async () => local, endpoint())).toBe(local);
    await expect(withRemoteFallback(() => Promise.reject(new AbortError()), endpoint())).rejects.toBeInstanceOf(AbortError);
    await expect(withRemoteFallback(() => Promise.reject(new TypeError('a bug')), endpoint())).rejects.toBeInstanceOf(TypeError);
    await expect(withRemoteFallback(noGpu, undefined)).rejects.toBeInstanceOf(WebGpuUnavailableError);
  });

  it('createEngine wires it: a worker that cannot start falls back under auto, not under an explicit backend', async () => {
    const broken = () => {
      throw new WebGpuUnavailableError('no adapter');
    };
    const engine = await createEngine({ model: '/models/huge', worker: broken, remote: endpoint() });
    expect(engine).toBeInstanceOf(RemoteEngine);
    expect((engine as RemoteEngine).info.fallbackReason).toMatch(/no adapter/);
    await expect(createEngine({ model: '/models/huge', backend: 'webgpu', worker: broken, remote: endpoint() })).rejects.toBeInstanceOf(WebGpuUnavailableError);
  });
});

describe("createEngine({ backend: 'remote' })", () => {
  it('checks the model against the server before it resolves', async () => {
    const engine = await createEngine({ backend: 'remote', ...endpoint() });
    expect(engine.info).toEqual({ backend: 'remote', baseURL: server.baseURL, model: 'big-model', fallbackReason: null });
    const missing = await createEngine({ backend: 'remote', baseURL: server.baseURL, model: 'small-model' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toMatch(/"big-model"/);
  });

  it('reload() moves to another served model only once checked; unload() ends calls until then', async () => {
    const engine = await createEngine({ backend: 'remote', ...endpoint() });
    await expect(engine.reload('small-model')).rejects.toBeInstanceOf(ConfigError);
    expect((await engine.chat.completions.create({ messages })).choices[0].message.content).toBe('Hi!');
    await engine.unload();
    await expect(engine.chat.completions.create({ messages })).rejects.toMatchObject({ name: 'EngineClosedError', reason: 'unloaded' });
    await engine.reload('big-model');
    expect((await engine.stats()).requests.finished).toBe(1);
    expect((await engine.chat.completions.create({ messages })).choices[0].message.content).toBe('Hi!');
  });
});
