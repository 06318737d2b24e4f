import { afterAll, describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { Engine } from '../../src/engine/Engine.ts';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import { ComputeError } from '../../src/errors.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { randomWeights, storiesConfig } from '../gpu/randomModel.ts';
import { DEFAULT_MODEL } from '../paths.ts';

const disposers: Array<() => void> = [];
afterAll(() => disposers.forEach((d) => d()));

/**
 * Random weights of stories260K's shape with an untied LM head, and one token whose embedding
 * is NaN: a prompt holding it gets non-finite logits, other prompts stay finite.
 */
async function poisonedEngine(backendName: 'cpu' | 'webgpu') {
  const { tokenizerJson, tokenizerConfig } = await loadModel(new FolderSource(DEFAULT_MODEL));
  const config = { ...storiesConfig, tieWordEmbeddings: false };
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, { eosIds: config.eosTokenIds, modelVocabSize: config.vocabSize });
  const good = ['Once upon a time', 'Lily and Tom went'];
  const bad = 'The dog saw a big red ball';
  const poison = tokenizer.encode(bad).at(-1)!;
  for (const p of good) expect(tokenizer.encode(p)).not.toContain(poison);
  const weights = randomWeights(config, 5);
  weights.tensors.get('model.embed_tokens.weight')!.fill(NaN, poison * config.hiddenSize, (poison + 1) * config.hiddenSize);
  const opts = { blockSize: 16, numBlocks: 64 };
  const backend: ForwardBackend = backendName === 'cpu' ? new CpuBackend(weights, opts) : await GpuBackend.create(weights, { ...opts, gpu: dawnGpu() });
  disposers.push(() => backend.dispose());
  const engine = new Engine(backend, tokenizer, { modelName: 'random', fingerprint: 'random-poisoned' });
  return { engine, api: new FolioEngine(engine), good, bad };
}

/** Issue 10, item 10: a forward that produces non-finite logits is an error, not `<unk>` forever. */
describe.each(['cpu', 'webgpu'] as const)('non-finite logits (%s)', (backendName) => {
  // Greedy steps read back ids on WebGPU (the sample kernel's NON_FINITE_ID), sampled ones too,
  // and logprobs read whole logits: each way must tell.
  it.each([
    ['greedy', { temperature: 0 }],
    ['sampled', { temperature: 0.8, seed: 3 }],
    ['with logprobs', { temperature: 0, logprobs: 2 }],
  ])('end the request that produced them with a ComputeError (%s); the others in its steps and later ones are served', async (_, sampling) => {
    const { engine, api, good, bad } = await poisonedEngine(backendName);
    const request = (prompt: string) => api.completions.create({ prompt, max_tokens: 10, ...sampling });
    const alone = await Promise.all(good.map(async (p) => (await request(p)).choices[0].text));
    const [a, b, c] = await Promise.allSettled([request(good[0]), request(bad), request(good[1])]);
    expect(b.status).toBe('rejected');
    const e = (b as PromiseRejectedResult).reason;
    expect(e).toBeInstanceOf(ComputeError);
    expect(e).toMatchObject({ code: 'COMPUTE', reason: 'non-finite' });
    expect(e.message).toMatch(/NaN or Inf/);
    expect([a, c].map((r) => (r.status === 'fulfilled' ? r.value.choices[0].text : r.reason))).toEqual(alone);
    expect((await request(good[0])).choices[0].text).toBe(alone[0]);
    await engine.idle();
    expect(engine.stats().kv.blocksUsed).toBe(0);
  });
});
