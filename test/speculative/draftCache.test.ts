import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { UrlSource } from '../../src/model/ModelSource.ts';
import { draftThroughCache } from '../../src/speculative/draftCache.ts';
import { CachedSource } from '../../src/storage/CachedSource.ts';
import { type KeyValueStore, MemoryStore, withQuota } from '../../src/storage/KeyValueStore.ts';
import { manifestKey, type ModelManifest } from '../../src/storage/ModelManifest.ts';
import { type ModelServer, startModelServer } from '../storage/modelServer.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';

const GGUF = 'stories260K-F32.gguf';
const prompt = 'Tom and his dog';

/** An engine on stories260K (from its folder) with the draft model `draftModel` read through `store`, as the worker loads it. */
async function engineWithDraft(draftModel: string, store: KeyValueStore, warnings: string[] = [], target?: { key: string; source: CachedSource }) {
  const speculative = await draftThroughCache({ draftModel }, { store, chunkBytes: 256 * 1024, target, onWarning: (m) => warnings.push(m) });
  const engine = await loadEngine({ source: target?.source ?? new FolderSource(DEFAULT_MODEL), backend: 'cpu', speculative, onWarning: (m) => warnings.push(m) });
  return { engine, api: new FolioEngine(engine) };
}

/** A greedy completion that drafts with the draft model, named as a request names it. */
async function drafted(api: FolioEngine, draftModel: string) {
  const r = await api.completions.create({ prompt, max_tokens: 16, temperature: 0, speculative: { method: 'draft', k: 4, draft_model: draftModel } });
  return { text: r.choices[0].text, counts: r.usage.speculative! };
}

describe('a draft model through the weight cache (Node: a Map for IndexedDB, a local server)', () => {
  let gguf: ModelServer;
  let folder: ModelServer;
  beforeAll(async () => {
    [gguf, folder] = await Promise.all([startModelServer(join(SHARED, 'models', 'gguf')), startModelServer(DEFAULT_MODEL)]);
  });
  afterAll(async () => {
    await gguf?.close();
    await folder?.close();
  });

  it('a second engine creation with the same draft model reads it from the cache, with no request', async () => {
    const store = new MemoryStore();
    const url = `${gguf.urlFor('drafts/stories')}/${GGUF}`;
    gguf.log.length = 0;
    const first = await engineWithDraft(url, store);
    const a = await drafted(first.api, url);
    expect(gguf.log.filter((r) => r.file === GGUF && r.method === 'GET').length).toBeGreaterThan(0);
    expect(a.counts.drafted_tokens).toBeGreaterThan(0);
    // Kept under the draft's own URL (the GGUF file's, as the model's would be), complete.
    const m = await store.get<ModelManifest>(manifestKey(url));
    expect(m).toMatchObject({ model: url, complete: true });
    expect(m!.fingerprint).toMatch(/\S/);
    expect(Object.keys(m!.files)).toContain(GGUF);

    gguf.log.length = 0;
    const second = await engineWithDraft(url, store);
    expect(gguf.log).toEqual([]);
    const b = await drafted(second.api, url);
    expect(b).toEqual(a);
    expect(b.counts.accepted_tokens).toBe(b.counts.drafted_tokens); // the same model in f32 drafts what the target outputs
  });

  it('a full quota leaves the draft uncached with a warning, and the engine drafts with it all the same', async () => {
    const warnings: string[] = [];
    const url = `${gguf.urlFor('drafts/quota')}/${GGUF}`;
    const { api } = await engineWithDraft(url, withQuota(new MemoryStore(), 64 * 1024), warnings);
    expect(warnings.join('\n')).toMatch(/draft model .*stories260K-F32\.gguf: model weights are not cached: the storage quota is full/);
    expect((await drafted(api, url)).counts.drafted_tokens).toBeGreaterThan(0);
  });

  it("a draft at the model's own URL (a self-drafter in q4_0) shares the model's entry: one manifest, the model's fingerprint", async () => {
    const store = new MemoryStore();
    const url = folder.urlFor('self/stories');
    const load = async () => {
      const cached = new CachedSource(new UrlSource(url), { store, chunkBytes: 256 * 1024, modelKey: url });
      const speculative = await draftThroughCache({ draftModel: url, draftWeights: 'q4_0' }, { store, target: { key: url, source: cached } });
      const engine = await loadEngine({ source: cached, backend: 'cpu', speculative });
      await cached.commit(engine.fingerprint); // as the worker commits the model
      return { engine, cached };
    };
    const first = await load();
    const manifests = (await store.keys()).filter((k) => k.startsWith('m:'));
    expect(manifests).toEqual([manifestKey(url)]);
    expect((await store.get<ModelManifest>(manifestKey(url)))!.fingerprint).toBe(first.engine.fingerprint);
    // The q4_0 draft's packed weights sit beside the model's files.
    expect((await store.keys()).some((k) => k.startsWith(`q:${url}|`))).toBe(true);
    folder.log.length = 0;
    const second = await load();
    expect(folder.log).toEqual([]);
    expect(second.cached.net.requests).toBe(0);
    expect((await drafted(new FolioEngine(second.engine), url)).counts.drafted_tokens).toBeGreaterThan(0);
  });
});
