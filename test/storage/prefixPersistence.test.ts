import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { type KeyValueStore, MemoryStore, withQuota } from '../../src/storage/KeyValueStore.ts';
import { KvBlockStore } from '../../src/storage/KvBlockStore.ts';
import { storyPrompt } from '../engine/engineHarness.ts';
import { DEFAULT_MODEL } from '../paths.ts';

async function engineOn(store: KeyValueStore | null, warnings: string[] = [], persistAfterHits?: number): Promise<{ engine: Engine; api: FolioEngine }> {
  const prefixStore = store ? new KvBlockStore(store, { onWarning: (m) => warnings.push(m) }) : undefined;
  const engine = await loadEngine({
    source: new FolderSource(DEFAULT_MODEL),
    backend: 'cpu',
    kv: { blockSize: 16, maxBlocks: 64 },
    maxBatchTokens: 512,
    prefixStore,
    persistAfterHits,
    onWarning: (m) => warnings.push(m),
  });
  return { engine, api: new FolioEngine(engine) };
}

/** Story text of at least `tokens` tokens (with BOS). */
function systemPrompt(engine: Engine, tokens: number): string {
  for (let words = tokens / 2; ; words += 4) {
    const text = storyPrompt(7, words);
    if (engine.tokenizer.encode(text).length >= tokens) return text;
  }
}

describe('prefix-KV blocks persisted (Node, CPU backend, a Map for IndexedDB)', () => {
  it('a pinned 256-token prefix is restored by a fresh engine: cached, and the same greedy output as a cold run', async () => {
    const store = new MemoryStore();
    const a = await engineOn(store);
    const system = systemPrompt(a.engine, 256);
    const pin = await a.api.pinPrefix(system);
    expect(pin.tokens).toBeGreaterThanOrEqual(256);
    expect(pin.blocks).toBe(Math.floor(pin.tokens / 16));
    expect(pin.persisted).toBe(pin.blocks);
    expect(a.engine.blockMap().filter((c) => c.persisted)).toHaveLength(pin.blocks);

    const prompt = `${system} Lily and Tom went to the park.`;
    const cold = await (await engineOn(null)).api.completions.create({ prompt, max_tokens: 12, temperature: 0 });
    const b = await engineOn(store);
    const warm = await b.api.completions.create({ prompt, max_tokens: 12, temperature: 0 });
    expect(warm.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(240);
    expect(cold.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(warm.choices[0].text).toBe(cold.choices[0].text);
    expect(b.engine.stats().persistence?.blocksRestored).toBeGreaterThanOrEqual(15);
    expect(b.engine.blockMap().filter((c) => c.persisted).length).toBeGreaterThanOrEqual(15);
  });

  it('a corrupted block fails its checksum, is dropped and recomputed; output unchanged', async () => {
    const store = new MemoryStore();
    const warnings: string[] = [];
    const a = await engineOn(store);
    const system = systemPrompt(a.engine, 64);
    await a.api.pinPrefix(system);
    // Corrupt the third block's K/V.
    const chain = a.engine.scheduler.kv.prefix.newChain();
    a.engine.scheduler.kv.prefix.extend(chain, a.engine.tokenizer.encode(system));
    const rec = store.map.get(`d:${a.engine.fingerprint}:${chain.hashes[2]}`) as { data: Float32Array };
    rec.data[5] += 1;
    const prompt = `${system} The sun was big.`;
    const cold = await (await engineOn(null)).api.completions.create({ prompt, max_tokens: 8, temperature: 0 });
    const b = await engineOn(store, warnings);
    const warm = await b.api.completions.create({ prompt, max_tokens: 8, temperature: 0 });
    expect(warm.usage.prompt_tokens_details.cached_tokens).toBe(32);
    expect(warm.choices[0].text).toBe(cold.choices[0].text);
    expect(warnings.some((w) => /checksum/.test(w))).toBe(true);
    expect(store.map.has(`d:${a.engine.fingerprint}:${chain.hashes[2]}`)).toBe(false);
  });

  it('blocks seen in two prompts are persisted in the background; a budget evicts the least recently used', async () => {
    const store = new MemoryStore();
    const { engine, api } = await engineOn(store);
    const shared = systemPrompt(engine, 48);
    await api.completions.create({ prompt: `${shared} one`, max_tokens: 2, temperature: 0 });
    await api.flushStorage();
    expect([...store.map.keys()].filter((k) => k.startsWith('d:'))).toHaveLength(0);
    await api.completions.create({ prompt: `${shared} two`, max_tokens: 2, temperature: 0 });
    await api.flushStorage();
    expect([...store.map.keys()].filter((k) => k.startsWith('d:')).length).toBeGreaterThanOrEqual(2);

    const perBlock = 2 * engine.backend.config.numLayers * engine.backend.config.numKvHeads * 16 * engine.backend.config.headDim * 4 + 64;
    const small = new KvBlockStore(new MemoryStore(), { budgetBytes: 2 * perBlock });
    const blocks = [0, 1, 2].map((i) => ({ hash: `h${i}`, parent: i ? `h${i - 1}` : null, tokens: new Int32Array(16), data: new Float32Array((perBlock - 64) / 4) }));
    for (const b of blocks) await small.put('fp', [b], false);
    expect(small.has('fp', 'h0')).toBe(false);
    expect(small.has('fp', 'h2')).toBe(true);
    expect(small.counters.evicted).toBe(1);
  });

  it('a full quota does not stop generation', async () => {
    const warnings: string[] = [];
    const { engine, api } = await engineOn(withQuota(new MemoryStore(), 1000), warnings);
    const system = systemPrompt(engine, 64);
    const pin = await api.pinPrefix(system);
    expect(pin.persisted).toBe(0);
    const out = await api.completions.create({ prompt: `${system} Tom`, max_tokens: 4, temperature: 0 });
    expect(out.usage.completion_tokens).toBe(4);
    expect(warnings.some((w) => /quota/.test(w))).toBe(true);
    expect(engine.stats().persistence?.warning).toMatch(/quota/);
  });
});
