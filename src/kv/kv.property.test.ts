import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slotOf } from './batch.ts';
import { appendCost, type BlockTable, type CopyPair, isWritable } from './BlockTable.ts';
import { hashBlock } from './hash.ts';
import { KvCache } from './KvCache.ts';
import type { HashChain } from './PrefixCache.ts';

const NUM_BLOCKS = 10;
const BS = 3;
/** A tiny vocabulary, so that random prompts share prefixes and hit the cache often. */
const token = fc.integer({ min: 0, max: 2 });
const tokens = (max: number) => fc.array(token, { minLength: 1, maxLength: max });

type Op =
  | { kind: 'add'; tokens: number[] }
  | { kind: 'addShared'; at: number; length: number; tail: number[] }
  | { kind: 'append'; at: number; tokens: number[] }
  | { kind: 'fork'; at: number }
  | { kind: 'free'; at: number }
  | { kind: 'lookup'; tokens: number[] }
  | { kind: 'evict'; count: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), tokens: tokens(12) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('addShared' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 12 }),
      tail: fc.array(token, { maxLength: 3 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), at: fc.nat(), tokens: tokens(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fork' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lookup' as const), tokens: tokens(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('evict' as const), count: fc.integer({ min: 1, max: 4 }) }) },
);

/** How often the runs reached the interesting paths, so that a passing run means something. */
const seen = { hits: 0, copies: 0, evictions: 0, refused: 0, wholePromptHits: 0 };

interface LiveSeq {
  table: BlockTable;
  chain: HashChain;
  tokens: number[];
}

/** The KV cache under test, next to a shadow of what the GPU would hold: a token per slot. */
class Model {
  readonly kv = new KvCache({ numBlocks: NUM_BLOCKS, blockSize: BS, modelFingerprint: 'fp' });
  readonly shadow = new Int32Array(NUM_BLOCKS * BS).fill(-1);
  readonly seqs: LiveSeq[] = [];
  private owners = 0;

  constructor() {
    this.kv.pool.onEvict(() => seen.evictions++);
  }

  /** One op is one step's planning: the copies it planned are then sealed (src/kv/copyPlan.ts). */
  apply(o: Op): void {
    this.step(o);
    this.kv.pool.endStep();
  }

  private step(o: Op): void {
    const n = this.seqs.length;
    switch (o.kind) {
      case 'add': return this.add(o.tokens);
      // Another sequence's prefix, maybe extended: where the cache hits.
      case 'addShared': if (n > 0) this.add([...this.seqs[o.at % n].tokens.slice(0, o.length), ...o.tail]); return;
      case 'append': if (n > 0) this.append(this.seqs[o.at % n], o.tokens); return;
      case 'fork': if (n > 0) this.fork(this.seqs[o.at % n]); return;
      case 'free': if (n > 0) this.kv.dropTable(this.seqs.splice(o.at % n, 1)[0].table); return;
      case 'lookup': return this.lookup(o.tokens);
      case 'evict': this.kv.pool.evictCached(o.count); return;
    }
  }

  /** Admission as the scheduler does it: prefix hits, then the uncached suffix (at least one token). */
  private add(prompt: number[]): void {
    const chain = this.kv.prefix.newChain();
    const hits = this.kv.prefix.lookup(chain, prompt);
    const computed = Math.min(hits.length * BS, prompt.length - 1);
    const count = prompt.length - computed;
    if (appendCost(hits, computed, count, BS, this.kv.pool) > this.kv.pool.numFree) {
      seen.refused++;
      return;
    }
    seen.hits += hits.length;
    if (computed < hits.length * BS) seen.wholePromptHits++;
    const table = this.kv.createTable(`s${this.owners++}`);
    table.adopt(hits, computed, this.kv.pool);
    const seq = { table, chain, tokens: prompt.slice(0, computed) };
    this.seqs.push(seq);
    this.append(seq, prompt.slice(computed));
  }

  private append(seq: LiveSeq, more: number[]): void {
    const copies = seq.table.append(more.length, this.kv.pool);
    if (!copies) {
      seen.refused++;
      return;
    }
    seen.copies += copies.length;
    this.copy(copies);
    const start = seq.tokens.length;
    more.forEach((t, i) => this.write(seq.table, start + i, t));
    seq.tokens.push(...more);
    this.kv.prefix.commit(seq.table, seq.chain, seq.tokens);
  }

  private fork(seq: LiveSeq): void {
    this.seqs.push({ table: this.kv.forkTable(seq.table, `s${this.owners++}`), chain: seq.chain.clone(), tokens: [...seq.tokens] });
  }

  private lookup(probe: number[]): void {
    const hits = this.kv.prefix.lookup(this.kv.prefix.newChain(), probe);
    hits.forEach((b, i) => assert(sameTokens(this.blockTokens(b), probe.slice(i * BS, (i + 1) * BS)), `hit ${b} holds other tokens`));
  }

  private copy(pairs: CopyPair[]): void {
    for (const [src, dst] of pairs) this.shadow.copyWithin(dst * BS, src * BS, (src + 1) * BS);
  }

  /** A write the forward would do; the block must be the writer's alone and unhashed. */
  private write(table: BlockTable, pos: number, t: number): void {
    const block = table.blocks[Math.floor(pos / BS)];
    if (!isWritable(block, this.kv.pool)) throw new Error(`write into shared or hashed block ${block}`);
    this.shadow[slotOf(table.blocks, pos, BS)] = t;
  }

  blockTokens(b: number): number[] {
    return Array.from(this.shadow.subarray(b * BS, (b + 1) * BS));
  }

  check(): void {
    const { pool, prefix } = this.kv;
    const holders = new Int32Array(NUM_BLOCKS);
    for (const s of this.seqs) for (const b of s.table.blocks) holders[b]++;
    let zero = 0;
    const salt = prefix.newChain().salt;
    for (let b = 0; b < NUM_BLOCKS; b++) {
      assert(pool.refCount(b) === holders[b], `block ${b}: refcount ${pool.refCount(b)}, held by ${holders[b]} tables`);
      assert(pool.isFree(b) === (holders[b] === 0), `block ${b}: free-queue membership disagrees with refcount`);
      if (holders[b] === 0) zero++;
      const hash = pool.hashOf(b);
      if (hash === undefined) continue;
      const entry = prefix.entry(hash);
      assert(entry?.block === b, `block ${b}: its hash is not registered to it`);
      const content = this.blockTokens(b);
      assert(sameTokens(entry.tokens, content), `block ${b}: registered tokens differ from its content`);
      assert(hashBlock(entry.parent, salt, content, 0, BS) === hash, `block ${b}: hash does not match its content`);
    }
    assert(pool.numFree + pool.numUsed === NUM_BLOCKS, 'free + used != total');
    assert(pool.numFree === zero, `numFree ${pool.numFree}, blocks at refcount 0: ${zero}`);
    assert(pool.freeOrder().length === zero, 'free queue length');
    // Paging: every sequence reads back its own tokens through its block table.
    for (const s of this.seqs) {
      assert(s.table.numTokens === s.tokens.length, `${s.table.owner}: numTokens`);
      for (let p = 0; p < s.tokens.length; p++) {
        assert(this.shadow[slotOf(s.table.blocks, p, BS)] === s.tokens[p], `${s.table.owner}: position ${p} reads a wrong token`);
      }
    }
  }
}

/** Cheaper than expect() in a loop that runs millions of times. */
function assert(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function sameTokens(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('KV cache invariants under random operations', () => {
  it('holds refcounts, free lists, hashes and contents through 10,000 random op sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const m = new Model();
        for (const o of ops) {
          m.apply(o);
          m.check();
        }
        for (const s of m.seqs) m.kv.dropTable(s.table);
        expect(m.kv.pool.numUsed).toBe(0);
      }),
      { numRuns: 10_000, seed: 20240601 },
    );
    for (const [path, count] of Object.entries(seen)) expect(count, path).toBeGreaterThan(100);
  });
});
