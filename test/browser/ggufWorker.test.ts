import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { GGUF_DIR, GGUF_REFERENCE, routeGgufFixtures } from '../gguf/ggufFiles.ts';
import { SHARED } from '../paths.ts';
import { type BrowserSession, openBrowser } from './browserHarness.ts';

const llama2c = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { text: string; prompt: string };
const reference = GGUF_REFERENCE;

interface Run {
  text: string;
  finish: string | null;
  fromCache: boolean;
  backend: string;
}

/** createEngine on a GGUF file's URL in the page (served by route from ../shared), one greedy completion. */
async function complete(s: BrowserSession, file: string, prompt: string, maxTokens: number): Promise<Run> {
  return s.page.evaluate(
    async ({ file, prompt, maxTokens }) => {
      const engine = await window.folio.createEngine({ model: `/gguf-fixtures/${file}`, backend: 'webgpu' });
      try {
        const out = await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0 });
        return { text: out.choices[0].text, finish: out.choices[0].finish_reason, fromCache: engine.info.fromCache, backend: engine.info.backend };
      } finally {
        engine.dispose();
      }
    },
    { file, prompt, maxTokens },
  );
}

describe('createEngine on a GGUF file URL, in Chromium on WebGPU', () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await openBrowser();
    await routeGgufFixtures(s.page.context());
  });
  afterAll(async () => s?.close());

  it('stories260K F32: the llama2.c fixture text; a second load comes from IndexedDB', async () => {
    const first = await complete(s, 'stories260K-F32.gguf', llama2c.prompt, 60);
    expect(first.backend).toBe('webgpu');
    expect(llama2c.text.startsWith(llama2c.prompt + first.text)).toBe(true);
    expect(first.text.length).toBeGreaterThan(100);
    const again = await complete(s, 'stories260K-F32.gguf', llama2c.prompt, 60);
    expect(again).toEqual({ ...first, fromCache: true });
  });

  it('qwen2-tiny Q4_K (byte-level BPE, no BOS, q/k/v biases): transformers\' greedy text up to its EOS', async () => {
    const run = reference.files['qwen2-tiny-Q4_K.gguf'].runs[0];
    const model = await loadAnyModel(await openSource(join(GGUF_DIR, 'qwen2-tiny-Q4_K.gguf')));
    const tokenizer = Tokenizer.fromJson(model.tokenizerJson, model.tokenizerConfig, { eosIds: model.weights.config.eosTokenIds });
    const eos = run.exact_greedy_ids.findIndex((id) => tokenizer.eosIds.includes(id));
    const ids = eos < 0 ? run.exact_greedy_ids : run.exact_greedy_ids.slice(0, eos);
    const r = await complete(s, 'qwen2-tiny-Q4_K.gguf', run.prompt, run.exact_greedy_ids.length);
    expect(r.text).toBe(tokenizer.decode(ids, { skipSpecial: true }));
    expect(r.finish).toBe(eos < 0 ? 'length' : 'stop');
  });
});
