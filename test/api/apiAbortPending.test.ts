import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/errors.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

describe('abort (CPU engine in-process, stories260K)', () => {
  it('an abort while create() is pending cancels the request in the engine and frees its blocks', async () => {
    const { engine, api } = await cpuEngine();
    const controller = new AbortController();
    const pending = api.completions.create({ prompt: 'Once upon a time', max_tokens: 400, temperature: 0, stream: true }, { signal: controller.signal });
    // create() has not returned: the engine is still admitting the request.
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await engine.idle();
    // Within one step: the prefill step may already have run, nothing after it.
    expect(engine.stats().tokens.generated).toBeLessThanOrEqual(1);
    expect(engine.scheduler.stats().blocksUsed).toBe(0);
  });

  it('an already-aborted signal rejects with Folio\'s AbortError, not the signal\'s DOMException', async () => {
    const { engine, api } = await cpuEngine();
    const e = await api.completions.create({ prompt: 'Once', max_tokens: 4 }, { signal: AbortSignal.abort() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect(e).toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    expect(engine.stats().requests.running + engine.stats().requests.waiting).toBe(0);
  });
});
