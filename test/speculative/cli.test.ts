import { describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../../src/cli/GenerateRequest.ts';
import { generateOnCpu } from '../../src/cli/generateOnCpu.ts';
import { speculativeOption } from '../../src/cli/speculativeOption.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { DEFAULT_MODEL } from '../paths.ts';

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

  it('refuses by name what it cannot run', () => {
    const param = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidParamsError);
        return (e as InvalidParamsError).param;
      }
      throw new Error('not refused');
    };
    expect(param(() => speculativeOption('draft', undefined, base))).toBe('speculative');
    expect(param(() => speculativeOption('lookahead', undefined, base))).toBe('speculative');
    expect(param(() => speculativeOption('ngram', '0', base))).toBe('speculative-k');
    expect(param(() => speculativeOption(undefined, '3', base))).toBe('speculative-k');
    expect(param(() => speculativeOption('ngram', undefined, { ...base, kv: { budgetTokens: 64 } }))).toBe('speculative');
    expect(param(() => speculativeOption('ngram', undefined, { ...base, grammar: 'root ::= "a"' }))).toBe('speculative');
  });
});
