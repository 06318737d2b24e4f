import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[] };
/** BOS and the fixture's greedy continuation: every position of the reference sequence. */
const ids = [1, ...fixture.next_ids];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('GpuBackend in headless Chromium (WebGPU on SwiftShader), stories260K', () => {
  let s: BrowserSession;
  let cpu: Float32Array;
  beforeAll(async () => {
    s = await openBrowser();
    const { weights } = await loadModel(new FolderSource(DEFAULT_MODEL));
    const backend = new CpuBackend(weights, { blockSize: 16, numBlocks: 13 });
    const table = Array.from({ length: 13 }, (_, i) => i);
    [cpu] = await backend.forward({ chunks: [{ tokens: ids, startPos: 0, blockTable: table }], logits: 'all' });
  });
  afterAll(async () => s?.close());

  it('logits of every position of the fixture sequence equal the CPU reference (max abs diff < 1e-4)', async () => {
    const r = await s.page.evaluate(async (ids) => {
      const { loadModel, UrlSource, GpuBackend } = window.folioInternals;
      const { weights } = await loadModel(new UrlSource(new URL('/models/stories260K', location.href).href));
      const gpu = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 32 });
      try {
        // Scrambled, non-contiguous blocks: only the block table addresses the cache.
        const table = Array.from({ length: 13 }, (_, i) => (i * 7 + 3) % 32);
        const [oneChunk] = await gpu.forward({ chunks: [{ tokens: ids, startPos: 0, blockTable: table }], logits: 'all' });
        // The same sequence as a decode would see it: a short prefill, then chunks of 1, 2, 3, ... tokens.
        const table2 = Array.from({ length: 13 }, (_, i) => 31 - i * 2);
        const stepwise: number[] = [];
        let pos = 0;
        for (let n = 5; pos < ids.length; n = (n % 7) + 1) {
          const tokens = ids.slice(pos, pos + n);
          const [rows] = await gpu.forward({ chunks: [{ tokens, startPos: pos, blockTable: table2 }], logits: 'all' });
          for (const v of rows) stepwise.push(v);
          pos += tokens.length;
        }
        return { oneChunk: Array.from(oneChunk), stepwise, adapter: gpu.gpu.cpuAdapter };
      } finally {
        gpu.dispose();
      }
    }, ids);
    expect(r.adapter).toBe(true); // SwiftShader
    expect(cpu.length).toBe(ids.length * 512);
    const errOne = maxAbsDiff(r.oneChunk, cpu);
    const errSteps = maxAbsDiff(r.stepwise, cpu);
    console.log(`stories260K in Chromium: ${ids.length} positions, max |gpu - cpu| = ${errOne.toExponential(2)} (one chunk), ${errSteps.toExponential(2)} (chunked decode)`);
    expect(errOne).toBeLessThan(1e-4);
    expect(errSteps).toBeLessThan(1e-4);
    // (The loader probes optional files such as model.safetensors.index.json: 404s are expected.)
    expect(s.errors.filter((e) => !e.includes('404'))).toEqual([]);
  });
});
