import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { createCpuBackend } from '../../src/cpu/cpuKernels.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import type { ForwardBackend } from '../../src/engine/ForwardBackend.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { argmax } from '../../src/sampling/argmax.ts';
import { Rng } from '../../src/sampling/Rng.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { type LoadedModel, loadModel } from '../../src/model/loadModel.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import type { DraftRequest } from '../../src/speculative/Drafter.ts';
import { DraftModelDrafter } from '../../src/speculative/DraftModelDrafter.ts';
import { DraftKv } from '../../src/speculative/draftKv.ts';
import { type DraftHost, loadDraftModel } from '../../src/speculative/draftModelLoad.ts';
import { checkSameTokenizer } from '../../src/speculative/draftTokenizerCheck.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';

const GGUF = join(SHARED, 'models', 'gguf');
const BS = 16;
const PROMPTS = [
  [1, 403, 407, 261, 378],
  [1, 365, 471, 300],
  [1, 72, 80, 385, 262, 350, 271],
];

let stories: LoadedModel;
let oracle: ForwardBackend;

/** The target's own greedy continuation of `context`, token by token on a backend of its own (the oracle). */
async function greedy(context: readonly number[], n: number): Promise<number[]> {
  const table = Array.from({ length: oracle.numBlocks }, (_, i) => i);
  const out: number[] = [];
  let chunk = [...context];
  let pos = 0;
  while (out.length < n) {
    const [logits] = await oracle.forward({ chunks: [{ tokens: chunk, startPos: pos, blockTable: table }], logits: 'last' });
    pos += chunk.length;
    out.push(argmax(logits));
    chunk = [out[out.length - 1]];
  }
  return out;
}

/** Sequential: the oracle has one KV cache. */
async function greedyAll(contexts: readonly (readonly number[])[], n: number): Promise<number[][]> {
  const out: number[][] = [];
  for (const c of contexts) out.push(await greedy(c, n));
  return out;
}

let forwards = 0;

/** A drafter over its own stories260K backend; `forwards` counts its forward calls. */
async function drafter(numBlocks: number): Promise<DraftModelDrafter> {
  const { backend } = await createCpuBackend(stories.weights, { blockSize: BS, numBlocks });
  const count = <T extends unknown[], R>(f: (...a: T) => R) => (...a: T): R => (forwards++, f(...a));
  const counted: ForwardBackend = Object.assign(Object.create(backend) as ForwardBackend, {
    forward: count(backend.forward.bind(backend)),
    ...(backend.forwardGreedy ? { forwardGreedy: count(backend.forwardGreedy.bind(backend)) } : {}),
  });
  return new DraftModelDrafter(counted);
}

const req = (seqId: string, context: readonly number[], k: number): DraftRequest => ({ seqId, context, k });

beforeAll(async () => {
  stories = await loadModel(new FolderSource(DEFAULT_MODEL));
  oracle = (await createCpuBackend(stories.weights, { blockSize: BS, numBlocks: 8 })).backend;
});

describe('DraftModelDrafter: stories260K drafting for itself', () => {
  it("drafts the target's own greedy continuation for a batch, and after accepting, extending or rolling back", async () => {
    const d = await drafter(64);
    const conts = await greedyAll(PROMPTS, 16);
    forwards = 0;
    const first = await d.propose(PROMPTS.map((p, i) => req(`s${i}`, p, 6)));
    expect(forwards).toBe(6); // one prefill for the three prompts, then one per drafted position after the first
    first.forEach((draft, i) => {
      expect(draft.probs).toBeNull();
      expect(draft.tokens).toEqual(conts[i].slice(0, 6));
    });
    // s0: four drafts accepted plus the target's token; s1: none accepted and a different token
    // (a rollback past the drafts); s2: the context cut back shorter than the drafter's prefix.
    const other = (conts[1][0] + 1) % stories.weights.config.vocabSize;
    const contexts = [[...PROMPTS[0], ...conts[0].slice(0, 5)], [...PROMPTS[1], other], PROMPTS[2].slice(0, 4)];
    const second = await d.propose(contexts.map((c, i) => req(`s${i}`, c, 5)));
    expect(second[0].tokens).toEqual(conts[0].slice(5, 10));
    expect(second[1].tokens).toEqual(await greedy(contexts[1], 5));
    expect(second[2].tokens).toEqual(await greedy(contexts[2], 5));
    // k = 1 and a k past the draft model's context: what fits, never an error.
    const max = stories.weights.config.maxPositions;
    const last = await d.propose([req('s0', contexts[0], 1), req('s3', new Array<number>(max).fill(1), 4), req('s4', [], 3)]);
    expect(last.map((x) => x.tokens.length)).toEqual([1, 1, 0]);
    expect(last[0].tokens).toEqual(conts[0].slice(5, 6));
  });

  it('frees every block on release and drops least recently used sequences when its pool is full', async () => {
    const d = await drafter(2); // each prompt + 6 drafts needs one block of 16
    const conts = await greedyAll(PROMPTS, 6);
    for (const [i, p] of PROMPTS.entries()) expect((await d.propose([req(`s${i}`, p, 6)]))[0].tokens).toEqual(conts[i]);
    expect(d.sequencesHeld).toBe(2); // s0 dropped for s2
    expect(d.blocksInUse).toBe(2);
    // s0 again: recomputed in place of s1, the least recently used now.
    expect((await d.propose([req('s0', PROMPTS[0], 6)]))[0].tokens).toEqual(conts[0]);
    // A batch larger than the pool: s0 and s2 keep their blocks, s1 (dropped) finds none free
    // and drafts nothing, rather than taking a block from a sequence of the same batch.
    const batch = await d.propose(PROMPTS.map((p, i) => req(`s${i}`, p, 6)));
    expect(batch.map((x) => x.tokens.length)).toEqual([6, 0, 6]);
    expect(batch[2].tokens).toEqual(conts[2]);
    // One sequence longer than the whole pool: nothing drafted, nothing thrown.
    expect((await d.propose([req('long', [...PROMPTS[0], ...conts[0], ...new Array<number>(30).fill(5)], 4)]))[0].tokens).toEqual([]);
    for (const id of ['s0', 's1', 's2', 'long', 'unknown']) d.release(id);
    expect(d.blocksInUse).toBe(0);
    expect(d.sequencesHeld).toBe(0);
  });

  it('samples with the request stream and returns the distributions it drew from', async () => {
    const d = await drafter(16);
    const rng = new Rng(5);
    const sampling = { temperature: 0.8, topK: 20, topP: 0.9, next: () => rng.next() };
    const [draft] = await d.propose([{ seqId: 'x', context: PROMPTS[0], k: 4, sampling }]);
    expect(draft.tokens).toHaveLength(4);
    expect(draft.probs).toHaveLength(4);
    draft.probs!.forEach((q, i) => {
      expect(q[draft.tokens[i]]).toBeGreaterThan(0);
      expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(q.filter((v) => v > 0).length).toBeLessThanOrEqual(20);
    });
    d.release('x');
    expect(d.blocksInUse).toBe(0);
  });
});

describe('loadDraftModel', () => {
  const host = (): DraftHost => ({ name: 'stories260K', config: stories.weights.config, tokenizerJson: stories.tokenizerJson, backend: 'cpu', blockSize: BS, numBlocks: 32 });

  it('loads the same model from a GGUF file as a self-drafter (the two tokenizers agree) and from a folder quantized on load', async () => {
    const fromGguf = await loadDraftModel({ draftModel: join(GGUF, 'stories260K-Q8_0.gguf') }, host());
    const q4 = await loadDraftModel({ draftModel: DEFAULT_MODEL, draftWeights: 'q4_0' }, host());
    for (const d of [fromGguf, q4]) {
      const [draft] = await d.propose([req('a', PROMPTS[0], 4)]);
      expect(draft.tokens).toHaveLength(4);
      d.dispose();
    }
  });

  it('refuses a draft model with another vocabulary, and a tokenizer that differs, by name', async () => {
    const mismatch = loadDraftModel({ draftModel: await openSource(join(GGUF, 'qwen2-tiny-Q4_K.gguf')) }, host());
    await expect(mismatch).rejects.toBeInstanceOf(InvalidParamsError);
    await expect(mismatch).rejects.toThrow(/speculative\.draftModel: .*qwen2-tiny-Q4_K\.gguf.* vocabulary of 1001 tokens and stories260K one of 512/);
    const swapped = structuredClone(stories.tokenizerJson) as { model: { vocab: Record<string, number> } };
    const [a, b] = Object.keys(swapped.model.vocab).filter((t) => swapped.model.vocab[t] === 300 || swapped.model.vocab[t] === 301);
    [swapped.model.vocab[a], swapped.model.vocab[b]] = [swapped.model.vocab[b], swapped.model.vocab[a]];
    const sides = { vocabSize: 512 };
    expect(() => checkSameTokenizer({ name: 'target', tokenizerJson: stories.tokenizerJson, ...sides }, { name: 'draft', tokenizerJson: swapped, ...sides })).toThrow(/draft's tokenizer differs from target's at id 300/);
  });
});

describe('loadEngine with speculative.draftModel', () => {
  it('serves method draft with the output of plain decoding, and refuses a bad option before loading', async () => {
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu', speculative: { draftModel: join(GGUF, 'stories260K-F32.gguf') } });
    const api = new FolioEngine(engine);
    for (const prompt of ['Tom and his dog']) {
      const plain = await api.completions.create({ prompt, max_tokens: 24, temperature: 0 });
      const spec = await api.completions.create({ prompt, max_tokens: 24, temperature: 0, stream: false, speculative: { method: 'draft', k: 4 } });
      expect(spec.choices[0].text).toBe(plain.choices[0].text);
      const counts = spec.usage.speculative!;
      expect(counts.drafted_tokens).toBeGreaterThan(0);
      expect(counts.accepted_tokens).toBe(counts.drafted_tokens); // the same model in f32 (from its GGUF) drafts what the target outputs
      expect(counts.target_forwards).toBeLessThan(spec.usage.completion_tokens / 2);
    }
    await expect(loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu', speculative: { draftWeights: 'q4_0' } })).rejects.toThrow(/speculative\.draftWeights: needs speculative\.draftModel/);
    await expect(loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu', speculative: { method: 'draft' } })).rejects.toBeInstanceOf(InvalidParamsError);
  });
});

describe('DraftKv', () => {
  it('keeps every block either free or held by exactly one sequence, sized to its positions (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), seq: fc.integer({ min: 0, max: 4 }), positions: fc.integer({ min: 0, max: 80 }), protect: fc.boolean() }),
      fc.record({ kind: fc.constant('truncate' as const), seq: fc.integer({ min: 0, max: 4 }), keep: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ kind: fc.constant('release' as const), seq: fc.integer({ min: 0, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const kv = new DraftKv(9, 8);
        const reserved = new Map<string, number>();
        for (const o of ops) {
          const id = `s${o.seq}`;
          if (o.kind === 'release') {
            kv.release(id);
            reserved.delete(id);
          } else if (o.kind === 'truncate') {
            const seq = kv.touch(id);
            kv.truncate(seq, o.keep);
            reserved.set(id, Math.min(reserved.get(id) ?? 0, seq.tokens.length));
          } else {
            const seq = kv.touch(id);
            // Tokens fill what was reserved, as the drafter's forwards do.
            if (kv.reserve(seq, o.positions, new Set(o.protect ? [id, 's0'] : [id]))) {
              reserved.set(id, Math.max(reserved.get(id) ?? 0, o.positions));
              while (seq.tokens.length < reserved.get(id)!) seq.tokens.push(seq.tokens.length);
            }
            for (const other of [...reserved.keys()]) if (!kv.has(other)) reserved.delete(other);
          }
          const held = kv.sequences().flatMap((s) => s.blocks);
          expect(new Set(held).size).toBe(held.length);
          expect(held.length + kv.pool.numFree).toBe(9);
          for (const s of kv.sequences()) expect(s.blocks.length).toBe(Math.ceil(s.tokens.length / 8));
        }
        for (const s of kv.sequences()) kv.release(s.seqId);
        expect(kv.pool.numFree).toBe(9);
      }),
      { numRuns: 100 },
    );
  });
});
