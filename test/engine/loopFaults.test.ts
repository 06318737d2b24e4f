import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events.ts';
import { ComputeError, ContextLengthError, FolioError } from '../../src/errors.ts';
import { cpuEngine, storyPrompt } from './engineHarness.ts';

/** Rejects instead of hanging: an engine that leaves a request unsettled fails the test at once. */
function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`unsettled after ${ms} ms`)), ms))]);
}

async function settle<T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return within(Promise.allSettled(ps));
}

const greedy = (prompt: string) => ({ prompt, max_tokens: 12, temperature: 0 });

/** Issue 10, item 5: no exception inside the engine loop may leave a request unsettled or the engine wedged. */
describe('faults inside the engine loop (CPU, stories260K)', () => {
  it('a forward that throws untyped ends the request of its step with a ComputeError; the requests not in that step, and later ones, are served', async () => {
    const prompts = [storyPrompt(1, 8), storyPrompt(2, 8), storyPrompt(3, 8)];
    const solo = await (await cpuEngine()).api.completions.create(greedy(prompts[2]));
    const { engine, api } = await cpuEngine();
    const backend = engine.backend;
    const forward = backend.forward.bind(backend);
    let calls = 0;
    backend.forward = (batch) => (++calls === 1 ? Promise.reject(new TypeError('boom in the forward')) : forward(batch));
    // The first request's first step starts before the others arrive: it alone is in the failed step.
    const [a, b, c] = await settle(prompts.map((p) => api.completions.create(greedy(p))));
    expect(a.status).toBe('rejected');
    const e = (a as PromiseRejectedResult).reason;
    expect(e).toBeInstanceOf(ComputeError);
    expect(e).toMatchObject({ code: 'COMPUTE', reason: 'internal' });
    expect(e.message).toMatch(/TypeError: boom in the forward/);
    expect(b.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect((c as PromiseFulfilledResult<typeof solo>).value.choices[0].text).toBe(solo.choices[0].text);
    expect((await within(api.completions.create(greedy(prompts[2])))).choices[0].text).toBe(solo.choices[0].text);
    await engine.idle();
    expect(engine.stats().kv.blocksUsed).toBe(0);
  });

  it('a request whose token cannot be decoded ends alone with a typed error; the others in its step finish as alone', async () => {
    // Ends that differ: the poisoned one is told by its last four tokens.
    const prompts = ['Once upon a time', 'The dog ran to the park and saw a big red ball', 'Lily and Tom went'];
    const solo = await (await cpuEngine()).api.completions.create(greedy(prompts[0]));
    const { engine, api } = await cpuEngine();
    // As a tokenizer with a smaller vocabulary than the model's does, for one request.
    const poisoned = engine.tokenizer.encode(prompts[1]).slice(-4).join();
    const streamDecoder = engine.tokenizer.streamDecoder.bind(engine.tokenizer);
    engine.tokenizer.streamDecoder = (o = {}) => {
      const d = streamDecoder(o);
      if (o.context?.join() === poisoned) {
        d.push = (id: number) => {
          throw new RangeError(`token id ${id} is outside the vocabulary of 300`);
        };
      }
      return d;
    };
    const [a, b, c] = await settle(prompts.map((p) => api.completions.create(greedy(p))));
    expect(b.status).toBe('rejected');
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(ComputeError);
    expect((b as PromiseRejectedResult).reason.message).toMatch(/outside the vocabulary/);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect((a as PromiseFulfilledResult<typeof solo>).value.choices[0].text).toBe(solo.choices[0].text);
    await engine.idle();
    expect(engine.stats().kv.blocksUsed).toBe(0);
    expect((await within(api.completions.create(greedy(prompts[0])))).choices[0].text).toBe(solo.choices[0].text);
  });

  it('a fault in the bookkeeping ends every request in flight with a typed error, and the engine is not wedged', async () => {
    const { engine, api } = await cpuEngine();
    const prompt = storyPrompt(7, 10);
    const solo = await api.completions.create(greedy(prompt));
    const scheduler = engine.scheduler;
    const appendTokens = scheduler.appendTokens.bind(scheduler);
    let calls = 0;
    scheduler.appendTokens = (results) => {
      if (++calls === 3) throw new Error('invariant broken');
      return appendTokens(results);
    };
    const results = await settle([0, 1, 2].map((i) => api.completions.create(greedy(storyPrompt(10 + i, 10)))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(FolioError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'COMPUTE', reason: 'internal' });
    }
    await within(engine.idle());
    expect((await within(api.completions.create(greedy(prompt)))).choices[0].text).toBe(solo.choices[0].text);
    expect(engine.stats().kv.blocksUsed).toBe(0);
  });

  it('a sink that throws ends its own request, not the engine', async () => {
    const { engine, api } = await cpuEngine();
    const prompt = storyPrompt(8, 10);
    const solo = await api.completions.create(greedy(prompt));
    const seen: EngineEvent['type'][] = [];
    await engine.generate(greedy(storyPrompt(9, 10)), (events) => {
      seen.push(...events.map((e) => e.type));
      if (events.some((e) => e.type === 'delta')) throw new Error('a broken consumer');
    });
    const other = await within(api.completions.create(greedy(prompt)));
    expect(other.choices[0].text).toBe(solo.choices[0].text);
    await within(engine.idle());
    expect(seen.at(-1)).toBe('error');
    expect(engine.stats().kv.blocksUsed).toBe(0);
  });
});

describe('a prompt that fills the context (issue 10, item 12)', () => {
  it('without max_tokens says that no room is left, not a negative count', async () => {
    const { api } = await cpuEngine();
    const err = await api.completions.create({ prompt: storyPrompt(1, 600) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextLengthError);
    expect((err as Error).message).toMatch(/^the prompt has \d+ tokens, which leaves no room to generate any in the model's context of 512/);
    expect((err as Error).message).not.toMatch(/-\d/);
  });
});
