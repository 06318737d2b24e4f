import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { EngineHandle, EngineStats } from '../../src/engine/events.ts';
import { EngineClosedError } from '../../src/errors.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/** Fails fast instead of hanging when a promise never settles (what the bug looked like). */
function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms))]);
}

/** An engine that admits requests and then answers nothing, as a worker that is gone would. */
function silentHandle(): EngineHandle {
  const never = () => new Promise<never>(() => {});
  return { generate: async () => 'req-0', abort: () => {}, stats: never as () => Promise<EngineStats>, blockMap: never, modelName: async () => 'm' };
}

describe('dispose() settles everything pending with EngineClosedError', () => {
  it('a stream and a stats() call waiting on a silent engine', async () => {
    const api = new FolioEngine(silentHandle());
    const stream = await api.completions.create({ prompt: 'Once', stream: true });
    const stats = api.stats();
    const next = stream[Symbol.asyncIterator]().next();
    api.dispose();
    await expect(within(next)).rejects.toBeInstanceOf(EngineClosedError);
    await expect(within(stats)).rejects.toMatchObject({ name: 'EngineClosedError', code: 'ENGINE_CLOSED', reason: 'disposed' });
  });

  it('mid-stream on the real CPU engine; every call after rejects at once', async () => {
    const { engine, api } = await cpuEngine();
    const stream = await api.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
    const seen: string[] = [];
    const read = (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.text ?? '');
        if (seen.length === 3) api.dispose();
      }
    })();
    await expect(within(read)).rejects.toBeInstanceOf(EngineClosedError);
    expect(seen.length).toBe(3);
    // The engine in this thread stopped the request too: no block is left held.
    await engine.idle();
    expect(engine.scheduler.stats().blocksUsed).toBe(0);
    await expect(within(api.stats(), 50)).rejects.toBeInstanceOf(EngineClosedError);
    await expect(within(api.kvMap(), 50)).rejects.toBeInstanceOf(EngineClosedError);
    await expect(within(api.completions.create({ prompt: 'x' }), 50)).rejects.toBeInstanceOf(EngineClosedError);
  });
});
