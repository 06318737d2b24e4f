import { it } from 'vitest';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';
import { mixedCases, runCases } from './greedyRun.ts';
it('dbg', async () => {
  let t = performance.now();
  const lap = (m: string) => { const n = performance.now(); console.log(m, Math.round(n - t)); t = n; };
  const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'webgpu', gpu: dawnGpu(), kernels: 'fallback', speculative: { draftModel: DEFAULT_MODEL, draftWeights: process.env.DW as 'q4_0' } });
  lap('load');
  const cases = mixedCases(8, 100).filter((_, i) => [0, 3, 5, 7].includes(i));
  await runCases(engine, cases, 16); lap('plain');
  await runCases(engine, cases, 16); lap('plain2');
  await runCases(engine, cases, 16, { method: 'ngram', k: 4 }); lap('ngram');
  await runCases(engine, cases, 16, { method: 'draft', k: 4 }); lap('draft');
  await runCases(engine, cases, 16, { method: 'draft', k: 4 }); lap('draft2');
}, 300000);
