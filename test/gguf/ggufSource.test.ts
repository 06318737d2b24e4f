import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { GGUF_DIR, fixtureBytes } from './ggufFiles.ts';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';

/** A spec ending in .gguf names one file: the source is its folder or URL prefix, with ggufFile set. */
describe('openSource with a .gguf spec', () => {
  it('a local path: the folder, and the file in it', async () => {
    const s = await openSource(join(GGUF_DIR, 'stories260K-Q4_0.gguf'));
    expect(s.ggufFile).toBe('stories260K-Q4_0.gguf');
    expect(s.describe()).toBe(`${new FolderSource(GGUF_DIR).describe()}, file stories260K-Q4_0.gguf`);
    expect(await s.fetchFile(s.ggufFile!)).toEqual(fixtureBytes('stories260K-Q4_0.gguf'));
  });

  it('an http(s) URL and an hf: spec (with and without a revision) resolve to the file URL', async () => {
    const cases: [string, string][] = [
      ['https://example.org/models/tiny%20model.gguf?download=true', 'https://example.org/models/tiny%20model.gguf'],
      ['hf:org/name/sub/model-Q4_K_M.gguf', 'https://hf.test/org/name/resolve/main/sub/model-Q4_K_M.gguf'],
      ['hf:org/name@v1.0/model-Q8_0.gguf', 'https://hf.test/org/name/resolve/v1.0/model-Q8_0.gguf'],
    ];
    for (const [spec, url] of cases) {
      const fetchImpl = vi.fn(async (_url: string) => new Response(new Uint8Array([1, 2, 3])));
      vi.stubGlobal('fetch', fetchImpl);
      const s = await openSource(spec, { hfEndpoint: 'https://hf.test' });
      await s.fetchFile(s.ggufFile!);
      expect(fetchImpl.mock.calls[0][0], spec).toBe(url);
      vi.unstubAllGlobals();
    }
  });

  it('a folder spec is still a Hugging Face folder', async () => {
    const s = await openSource(join(GGUF_DIR, 'qwen2-tiny-hf'));
    expect(s.ggufFile).toBeUndefined();
    expect(s).toBeInstanceOf(FolderSource);
  });

  it('loadAnyModel reads a GGUF source through the same LoadedModel shape as a folder, without the network', async () => {
    // the header parser is served from the file's bytes in memory: any real fetch fails the test
    vi.stubGlobal('fetch', () => {
      throw new Error('loading a local GGUF file must not fetch');
    });
    const { weights, tokenizerJson, tokenizerConfig } = await loadAnyModel(await openSource(join(GGUF_DIR, 'qwen2-tiny-Q4_K.gguf')));
    vi.unstubAllGlobals();
    expect(weights.config).toMatchObject({
      modelType: 'qwen2', hiddenSize: 256, intermediateSize: 768, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64,
      vocabSize: 1001, maxPositions: 512, ropeTheta: 1e6, ropeScaling: null, tieWordEmbeddings: true, qkvBias: true,
      bosTokenId: 1000, eosTokenIds: [1000],
    });
    expect(weights.config.rmsNormEps).toBeCloseTo(1e-6, 12);
    expect(weights.tensors.has('lm_head.weight')).toBe(false);
    expect(weights.tensors.get('model.layers.3.self_attn.k_proj.bias')!.length).toBe(128);
    expect(weights.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenizerJson).toMatchObject({ model: { type: 'BPE' } });
    expect(tokenizerConfig).toMatchObject({ add_bos_token: false, eos_token: '<|endoftext|>' });
  });
});
