import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slotOf } from './batch.ts';
import { appendCost, type BlockTable, type CopyPair, isWritable } from './BlockTable.ts';
import { hashBlock } from './hash.ts';
import { KvCache } from './KvCache.ts';
import type { HashChain } from './PrefixCache.ts';
import type { EvictionPolicy, KvLimit } from './eviction/KvLimit.ts';
import { makeRoom } from './eviction/makeRoom.ts';

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
  | { kind: 'evict'; count: number }
  | { kind: 'budget'; at: number; budgetBlocks: number; policy: EvictionPolicy; tokens: number[] }
  | { kind: 'shift'; at: number; tokens: number[] }
  | { kind: 'speculate'; at: number; tokens: number[]; accepted: number };

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
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('budget' as const),
      at: fc.nat(),
      budgetBlocks: fc.integer({ min: 3, max: 5 }),
      policy: fc.constantFrom<EvictionPolicy>('window', 'paged-eviction', 'random'),
      tokens: tokens(7),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shift' as const), at: fc.nat(), tokens: tokens(4) }) },
  // Speculative decoding: drafts written, the rejected ones rolled back (src/scheduler/drafts.ts).
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('speculate' as const), at: fc.nat(), tokens: tokens(7), accepted: fc.nat({ max: 7 }) }) },
);

/** How often the runs reached the interesting paths, so that a passing run means something. */
const seen = { hits: 0, copies: 0, evictions: 0, refused: 0, wholePromptHits: 0, prunedBlocks: 0, shifts: 0, shiftCopies: 0, rolledBack: 0, releasedByRollback: 0 };

interface LiveSeq {
  table: BlockTable;
  chain: HashChain;
  /** Every token of the sequence, evicted ones included (its hash chain's input). */
  tokens: number[];
  /** The token and position of each cache entry the table holds, in table order. */
  held: Array<{ token: number; pos: number }>;
}

/** A deterministic stand-in for the device's ||V|| / ||K||. */
const scoreOfBlock = (b: number, tokens: number[]) => ((b * 7919 + tokens.length * 31) % 17) / 17;

/** The KV cache under test, next to a shadow of what the GPU would hold: a token per slot. */
class Model {
  readonly kv = new KvCache({ numBlocks: NUM_BLOCKS, blockSize: BS, modelFingerprint: 'fp' });
  readonly shadow = new Int32Array(NUM_BLOCKS * BS).fill(-1);
  /** The position each slot's key was rotated for: what a K-shift changes. */
  readonly shadowPos = new Int32Array(NUM_BLOCKS * BS).fill(-1);
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
      case 'budget': if (n > 0) this.underLimit(this.seqs[o.at % n], o.tokens, { budgetBlocks: o.budgetBlocks, policy: o.policy, overflow: 'refuse', sinkBlocks: 1, recentBlocks: 1, random: () => (o.tokens.length * 0.37 + this.owners * 0.11) % 1 }); return;
      case 'shift': if (n > 0) this.shift(this.seqs[o.at % n], o.tokens); return;
      case 'speculate': if (n > 0) this.speculate(this.seqs[o.at % n], o.tokens, o.accepted); return;
    }
  }

  /**
   * A verification step: every draft's slot is written (copy-on-write first, as any append),
   * then the table is truncated to the accepted ones before anything is hashed.
   */
  private speculate(seq: LiveSeq, drafts: number[], accepted: number): void {
    if (seq.table.pruned) return; // the engine does not speculate under a KV limit
    const blocksBefore = seq.table.blocks.length;
    const copies = seq.table.append(drafts.length, this.kv.pool);
    if (!copies) {
      seen.refused++;
      return;
    }
    this.copy(copies);
    const start = seq.held.length;
    drafts.forEach((t, i) => this.write(seq.table, start + i, t, seq.table.positionAt(start + i)));
    const keep = Math.min(accepted, drafts.length);
    const grown = seq.table.blocks.length;
    seq.table.truncate(start + keep, this.kv.pool);
    seen.rolledBack += drafts.length - keep;
    seen.releasedByRollback += grown - seq.table.blocks.length;
    assert(seq.table.blocks.length >= blocksBefore || start + keep === 0, `${seq.table.owner}: rollback released a block it held before`);
    for (let i = 0; i < keep; i++) seq.held.push({ token: drafts[i], pos: seq.table.positionAt(start + i) });
    seq.tokens.push(...drafts.slice(0, keep));
    this.kv.prefix.commit(seq.table, seq.chain, seq.tokens);
  }

  /** Appends under a KV budget: makeRoom evicts first, and the table then holds at most budget + 1 blocks. */
  private underLimit(seq: LiveSeq, more: number[], limit: KvLimit, maxLen?: number): boolean {
    const before = [...seq.table.blocks];
    const room = makeRoom(seq.table, more.length, limit, this.kv.pool, maxLen);
    this.keepSurvivors(seq, before, room?.copies ?? []);
    if (!room) {
      seen.refused++;
      return false;
    }
    this.copy(room.copies);
    seen.shiftCopies += room.copies.length;
    for (const { block, delta } of room.shifts) {
      seen.shifts++;
      // The K-shift: only a block this table alone holds, unhashed, is rotated in place.
      assert(isWritable(block, this.kv.pool), `shift rotates shared or hashed block ${block}`);
      for (let o = 0; o < BS; o++) if (this.shadowPos[block * BS + o] >= 0) this.shadowPos[block * BS + o] += delta;
    }
    seq.held.forEach((h, e) => (h.pos = seq.table.positionAt(e)));
    this.append(seq, more.slice(0, room.count));
    if (limit.budgetBlocks !== null) assert(seq.table.blocks.length <= Math.max(before.length, limit.budgetBlocks + 1), `${seq.table.owner} holds ${seq.table.blocks.length} blocks over a budget of ${limit.budgetBlocks}`);
    return true;
  }

  /** Keeps the held entries of the blocks that stayed (a shift's copy stands for its source), in order. */
  private keepSurvivors(seq: LiveSeq, before: number[], copies: CopyPair[]): void {
    const source = new Map(copies.map(([src, dst]) => [dst, src]));
    const after = seq.table.blocks.map((b) => source.get(b) ?? b);
    const kept: LiveSeq['held'] = [];
    let j = 0;
    before.forEach((b, i) => {
      if (after[j] !== b) return;
      kept.push(...seq.held.slice(i * BS, (i + 1) * BS));
      j++;
    });
    assert(j === after.length, `${seq.table.owner}: its table is not a subsequence of what it held`);
    seen.prunedBlocks += before.length - after.length;
    seq.held = kept;
  }

  /** A context shift at the sequence's next position, then an append. */
  private shift(seq: LiveSeq, more: number[]): void {
    const next = seq.table.positionAt(seq.table.numTokens);
    if (next < 3 * BS) return;
    if (!this.underLimit(seq, more, { budgetBlocks: null, policy: 'none', overflow: 'shift', sinkBlocks: 1, recentBlocks: 1 }, next)) return;
    const t = seq.table;
    for (let e = 0; e < t.numTokens; e++) assert(t.positionAt(e) === e, `${t.owner}: positions are not contiguous after a shift`);
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
    const seq: LiveSeq = { table, chain, tokens: prompt.slice(0, computed), held: prompt.slice(0, computed).map((token, pos) => ({ token, pos })) };
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
    const start = seq.held.length;
    more.forEach((t, i) => {
      const pos = seq.table.positionAt(start + i);
      this.write(seq.table, start + i, t, pos);
      seq.held.push({ token: t, pos });
    });
    seq.tokens.push(...more);
    const t = seq.table;
    for (let i = 0; i < t.numFullBlocks; i++) if (Number.isNaN(this.kv.pool.scoreOf(t.blocks[i]))) this.kv.pool.setScore(t.blocks[i], scoreOfBlock(t.blocks[i], seq.tokens));
    this.kv.prefix.commit(seq.table, seq.chain, seq.tokens);
  }

  private fork(seq: LiveSeq): void {
    this.seqs.push({ table: this.kv.forkTable(seq.table, `s${this.owners++}`), chain: seq.chain.clone(), tokens: [...seq.tokens], held: seq.held.map((h) => ({ ...h })) });
  }

  private lookup(probe: number[]): void {
    const hits = this.kv.prefix.lookup(this.kv.prefix.newChain(), probe);
    hits.forEach((b, i) => assert(sameTokens(this.blockTokens(b), probe.slice(i * BS, (i + 1) * BS)), `hit ${b} holds other tokens`));
  }

  private copy(pairs: CopyPair[]): void {
    for (const [src, dst] of pairs) {
      this.shadow.copyWithin(dst * BS, src * BS, (src + 1) * BS);
      this.shadowPos.copyWithin(dst * BS, src * BS, (src + 1) * BS);
    }
  }

  /** A write the forward would do; the block must be the writer's alone and unhashed. */
  private write(table: BlockTable, entry: number, t: number, pos: number): void {
    const block = table.blocks[Math.floor(entry / BS)];
    if (!isWritable(block, this.kv.pool)) throw new Error(`write into shared or hashed block ${block}`);
    this.shadow[slotOf(table.blocks, entry, BS)] = t;
    this.shadowPos[slotOf(table.blocks, entry, BS)] = pos;
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
      // A hashed block holds a prefix's block at its own positions: never shifted nor written after a gap.
      const first = this.shadowPos[b * BS];
      assert(first % BS === 0, `hashed block ${b} holds keys for position ${first}, not a block start`);
      for (let o = 0; o < BS; o++) assert(this.shadowPos[b * BS + o] === first + o, `hashed block ${b}: positions are not its own`);
    }
    assert(pool.numFree + pool.numUsed === NUM_BLOCKS, 'free + used != total');
    assert(pool.numFree === zero, `numFree ${pool.numFree}, blocks at refcount 0: ${zero}`);
    assert(pool.freeOrder().length === zero, 'free queue length');
    // Paging: every sequence reads back its own tokens through its block table.
    for (const s of this.seqs) {
      assert(s.table.numTokens === s.held.length, `${s.table.owner}: numTokens`);
      assert(s.table.numSeen === s.tokens.length, `${s.table.owner}: numSeen`);
      for (let e = 0; e < s.held.length; e++) {
        const slot = slotOf(s.table.blocks, e, BS);
        assert(this.shadow[slot] === s.held[e].token, `${s.table.owner}: entry ${e} reads a wrong token`);
        assert(this.shadowPos[slot] === s.table.positionAt(e), `${s.table.owner}: entry ${e}'s key is rotated for another position`);
        if (e > 0) assert(s.table.positionAt(e) > s.table.positionAt(e - 1), `${s.table.owner}: positions do not increase`);
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
