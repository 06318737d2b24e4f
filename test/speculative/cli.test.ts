import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { draftModelOption } from '../../src/cli/draftModelOption.ts';
import type { GenerateRequest } from '../../src/cli/GenerateRequest.ts';
import { generateOnCpu } from '../../src/cli/generateOnCpu.ts';
import { DRAFT_ROUTE, localModel, MODEL_ROUTE, runGeneratePage } from '../../src/cli/generatePageRun.ts';
import { speculativeOption } from '../../src/cli/speculativeOption.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';
import { refusedParam } from './refusedParam.ts';

describe('folio generate --speculative (CPU)', () => {
  const base: GenerateRequest = { model: DEFAULT_MODEL, prompt: 'Once upon a time, there was a little girl named Lily', addBos: true, maxTokens: 80, sampling: { temperature: 0 } };

  it('greedy ids equal plain decoding, with the counts for --json; sampled runs are seeded', async () => {
    const plain = await generateOnCpu(base);
    const spec = await generateOnCpu({ ...base, speculative: speculativeOption('ngram', '6', base) });
    expect(spec.generatedIds).toEqual(plain.generatedIds);
    expect(plain.speculative).toBeUndefined();
    const c = spec.speculative!;
    expect(c.accepted_tokens).toBeGreaterThan(0);
    expect(c.accepted_tokens).toBeLessThanOrEqual(c.drafted_tokens);
    // Every forward yields one token plus its accepted drafts.
    expect(c.target_forwards + c.accepted_tokens).toBe(spec.generatedIds.length);
    const sampled = { ...base, maxTokens: 30, sampling: { temperature: 0.8, seed: 7 }, speculative: speculativeOption('ngram', undefined, base) };
    expect((await generateOnCpu(sampled)).generatedIds).toEqual((await generateOnCpu(sampled)).generatedIds);
  });

  it('--speculative draft --draft-model: greedy ids equal plain decoding, some drafts rejected (q4_0 self-drafter), on the CPU', async () => {
    const req = { ...base, maxTokens: 40, ...draftModelOption(DEFAULT_MODEL, 'q4_0', 'draft') };
    const plain = await generateOnCpu({ ...base, maxTokens: 40 });
    const spec = await generateOnCpu({ ...req, speculative: speculativeOption('draft', '4', req) });
    expect(spec.generatedIds).toEqual(plain.generatedIds);
    const c = spec.speculative!;
    expect(c.accepted_tokens).toBeGreaterThan(c.drafted_tokens / 2);
    expect(c.accepted_tokens).toBeLessThan(c.drafted_tokens);
    expect(c.target_forwards + c.accepted_tokens).toBe(spec.generatedIds.length);
  });

  it('--backend webgpu serves a local draft model (folder or .gguf file) to the page beside the model', async () => {
    const asked: GenerateRequest[] = [];
    // Only what runGeneratePage uses of a Playwright page: it answers as the page would.
    const page = {
      exposeFunction: async () => {},
      on: () => {},
      goto: async () => null,
      waitForSelector: async () => null,
      evaluate: async (_f: unknown, r: GenerateRequest) => (asked.push(r), { ok: true, result: { promptIds: [], generatedIds: [], text: '', completion: '' }, adapter: 'fake' }),
    } as unknown as Page;
    const gguf = join(SHARED, 'models', 'gguf', 'stories260K-Q4_0.gguf');
    const req = { ...base, draftModel: gguf };
    await runGeneratePage(page, 'http://x/page.html', req, localModel(DEFAULT_MODEL), undefined, localModel(gguf));
    await runGeneratePage(page, 'http://x/page.html', { ...req, draftModel: DEFAULT_MODEL }, localModel(DEFAULT_MODEL), undefined, localModel(DEFAULT_MODEL));
    expect(asked.map((r) => [r.model, r.draftModel])).toEqual([
      [MODEL_ROUTE.slice(0, -1), `${DRAFT_ROUTE}stories260K-Q4_0.gguf`],
      [MODEL_ROUTE.slice(0, -1), DRAFT_ROUTE.slice(0, -1)],
    ]);
  });

  it('refuses by name what it cannot run', () => {
    expect(refusedParam(() => speculativeOption('draft', undefined, base))).toBe('speculative');
    expect(refusedParam(() => speculativeOption('lookahead', undefined, base))).toBe('speculative');
    expect(refusedParam(() => speculativeOption('ngram', '0', base))).toBe('speculative-k');
    expect(refusedParam(() => speculativeOption(undefined, '3', base))).toBe('speculative-k');
    expect(refusedParam(() => speculativeOption('ngram', undefined, { ...base, kv: { budgetTokens: 64 } }))).toBe('speculative');
    expect(refusedParam(() => speculativeOption('ngram', undefined, { ...base, grammar: 'root ::= "a"' }))).toBe('speculative');
    expect(refusedParam(() => draftModelOption(DEFAULT_MODEL, undefined, 'ngram'))).toBe('draft-model');
    expect(refusedParam(() => draftModelOption(undefined, 'q4_0', 'draft'))).toBe('draft-weights');
    expect(refusedParam(() => draftModelOption(DEFAULT_MODEL, 'q3', 'draft'))).toBe('draft-weights');
  });
});
