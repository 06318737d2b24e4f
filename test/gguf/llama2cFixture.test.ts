import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { SHARED } from '../paths.ts';
import { GGUF_DIR, loadPath } from './ggufFiles.ts';

const fixture: { prompt: string; text: string; next_ids: number[] } = JSON.parse(
  readFileSync(resolve(SHARED, 'fixtures', 'stories260K-greedy.json'), 'utf8'),
);

/** The F32 and F16 GGUF files of stories260K generate llama2.c's own greedy text (its run.c), ids and text. */
describe('stories260K GGUF reproduces the llama2.c fixture', () => {
  for (const file of ['stories260K-F32.gguf', 'stories260K-F16.gguf']) {
    it(file, async () => {
      const { weights, tokenizerJson, tokenizerConfig } = await loadPath(resolve(GGUF_DIR, file));
      const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
      const prompt = tokenizer.encode(fixture.prompt);
      const promptLength = prompt.length - 1; // after BOS
      expect(prompt).toEqual([1, ...fixture.next_ids.slice(0, promptLength)]);
      const generated = await cpuGreedy(weights, prompt, fixture.next_ids.length - promptLength);
      expect([...prompt.slice(1), ...generated]).toEqual(fixture.next_ids);
      expect(tokenizer.decode([...prompt, ...generated], { skipSpecial: true })).toBe(fixture.text);
    });
  }
});
