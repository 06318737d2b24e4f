import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSession, openBrowser } from '../browser/browserHarness.ts';

/** Issue 13: createEngine's onProgress carries the whole load as `progress` and `text`, through the worker. */
describe('load progress through the worker, in headless Chromium', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser();
  });
  afterAll(async () => s?.close());

  it.each([false, { chunkBytes: 64 * 1024 }] as const)('every event has a fraction that never goes back, and the last, before createEngine resolves, is 1 (cache %o)', async (cache) => {
    const events = await s.page.evaluate(async (cache) => {
      const seen: { progress: number; text: string; file: string }[] = [];
      const engine = await window.folio.createEngine({ model: '/models/stories260K', backend: 'cpu', cache, onProgress: (p) => seen.push({ progress: p.progress, text: p.text, file: p.file }) });
      const atResolve = seen.length;
      await engine.cache.clear().catch(() => {});
      engine.dispose();
      return seen.slice(0, atResolve);
    }, cache);
    expect(events.length).toBeGreaterThan(1);
    const fractions = events.map((e) => e.progress);
    expect(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]))).toBe(true);
    expect(events.at(-1)).toMatchObject({ progress: 1, text: expect.stringMatching(/^Ready: .*stories260K on the CPU$/) });
    expect(fractions.slice(0, -1).every((f) => f <= 0.9)).toBe(true);
    expect(events.some((e) => e.file === 'model.safetensors' && e.progress === 0.9)).toBe(true);
    expect(events.every((e) => typeof e.text === 'string' && e.text.length > 0)).toBe(true);
  });
});
