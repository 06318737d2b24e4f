import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { SHARED } from '../paths.ts';
import { GGUF_DIR } from './ggufFiles.ts';

const llama2c: { prompt: string; text: string } = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'stories260K-greedy.json'), 'utf8'));

describe('loadEngine with a .gguf source', () => {
  it('serves completions from an F16 GGUF file on the CPU backend: the llama2.c fixture text', async () => {
    const engine = await loadEngine({ source: await openSource(join(GGUF_DIR, 'stories260K-F16.gguf')), backend: 'cpu' });
    const r = await new FolioEngine(engine).completions.create({ prompt: llama2c.prompt, max_tokens: 40, temperature: 0 });
    expect(r.usage.completion_tokens).toBe(40);
    expect(llama2c.text.startsWith(llama2c.prompt + r.choices[0].text)).toBe(true);
    expect(engine.tokenizer.encode(llama2c.prompt)).toEqual([1, 403, 407, 261, 378]);
  });
});
