import { describe, expect, it } from 'vitest';
import { KvCache } from './KvCache.ts';

const BS = 4;
const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** A table that has computed `tokens` and registered its full blocks. */
function computed(kv: KvCache, owner: string, tokens: number[], salt?: string) {
  const table = kv.createTable(owner);
  const chain = kv.prefix.newChain(salt);
  expect(table.append(tokens.length, kv.pool)).toEqual([]);
  kv.prefix.commit(table, chain, tokens);
  return { table, chain };
}

describe('PrefixCache', () => {
  it('finds the full blocks of a shared prefix, and only those', () => {
    const kv = new KvCache({ numBlocks: 16, blockSize: BS, modelFingerprint: 'm' });
    const a = computed(kv, 'a', seq(10));
    const probe = [...seq(8), 99, 98, 97, 96];
    const hits = kv.prefix.lookup(kv.prefix.newChain(), probe);
    expect(hits).toEqual(a.table.blocks.slice(0, 2));
    expect(kv.prefix.lookup(kv.prefix.newChain(), [5, ...seq(11)])).toEqual([]);
  });

  it('keeps models and user salts apart', () => {
    const kv = new KvCache({ numBlocks: 16, blockSize: BS, modelFingerprint: 'm' });
    computed(kv, 'a', seq(8), 'alice');
    expect(kv.prefix.lookup(kv.prefix.newChain('alice'), seq(8))).toHaveLength(2);
    expect(kv.prefix.lookup(kv.prefix.newChain('bob'), seq(8))).toHaveLength(0);
    expect(kv.prefix.lookup(kv.prefix.newChain(), seq(8))).toHaveLength(0);
    const other = new KvCache({ numBlocks: 16, blockSize: BS, modelFingerprint: 'm2' });
    expect(other.prefix.newChain('alice').saltKey).not.toBe(kv.prefix.newChain('alice').saltKey);
  });

  it('serves a freed block from the cache until it is reused', () => {
    const kv = new KvCache({ numBlocks: 3, blockSize: BS, modelFingerprint: 'm' });
    const a = computed(kv, 'a', seq(8));
    const blocks = [...a.table.blocks];
    kv.dropTable(a.table);
    expect(kv.stats().blocksCachedFree).toBe(2);
    expect(kv.prefix.lookup(kv.prefix.newChain(), seq(8))).toEqual(blocks);
    // Two fresh blocks: the empty one, then the LRU cached one (the chain's tail).
    const b = kv.createTable('b');
    b.append(8, kv.pool);
    expect(kv.prefix.lookup(kv.prefix.newChain(), seq(8))).toEqual([blocks[0]]);
    expect(kv.prefix.size).toBe(1);
  });

  it('never trusts a hash alone: a hit whose tokens differ is refused', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'm' });
    computed(kv, 'a', seq(4));
    const chain = kv.prefix.newChain();
    kv.prefix.extend(chain, seq(4));
    // Forge a collision: the right hash for different tokens.
    expect(kv.prefix.lookup(chain, [0, 1, 2, 77])).toEqual([]);
    expect(kv.prefix.lookup(chain, seq(4))).toHaveLength(1);
  });

  it('keeps the first copy of a block computed twice', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'm' });
    const a = computed(kv, 'a', seq(4));
    const b = computed(kv, 'b', seq(4));
    expect(kv.pool.hashOf(a.table.blocks[0])).toBeDefined();
    expect(kv.pool.hashOf(b.table.blocks[0])).toBeUndefined();
    expect(kv.prefix.lookup(kv.prefix.newChain(), seq(4))).toEqual([a.table.blocks[0]]);
  });
});

describe('copy-on-write and accounting', () => {
  it('copies a shared partial block on the first append into it', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'm' });
    const parent = kv.createTable('p');
    parent.append(6, kv.pool);
    const child = kv.forkTable(parent, 'c');
    expect(kv.stats().blocksShared).toBe(2);
    const copies = child.append(1, kv.pool);
    expect(copies).toEqual([[parent.blocks[1], child.blocks[1]]]);
    expect(child.blocks[0]).toBe(parent.blocks[0]);
    expect(parent.append(1, kv.pool)).toEqual([]); // now the sole holder: in place
    const snap = kv.snapshot();
    expect(snap[parent.blocks[0]]).toMatchObject({ state: 'shared', owners: ['p', 'c'] });
    expect(snap[child.blocks[1]]).toMatchObject({ state: 'held', owners: ['c'] });
  });

  it('rewrites the last token of a fully cached prompt into a copy', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'm' });
    const a = computed(kv, 'a', seq(8));
    const hits = kv.prefix.lookup(kv.prefix.newChain(), seq(8));
    const b = kv.createTable('b');
    b.adopt(hits, 7, kv.pool);
    expect(b.append(1, kv.pool)).toEqual([[a.table.blocks[1], b.blocks[1]]]);
    expect(b.blocks[0]).toBe(a.table.blocks[0]);
  });

  it('reports tokens, waste, cached blocks and states', () => {
    const kv = new KvCache({ numBlocks: 8, blockSize: BS, modelFingerprint: 'm' });
    const a = computed(kv, 'a', seq(6));
    kv.forkTable(a.table, 'a2');
    const s = kv.stats();
    expect(s).toMatchObject({ blocksTotal: 8, blocksUsed: 2, blocksFree: 6, blocksShared: 2, tokensStored: 6, tokensLogical: 12, slotsWasted: 2 });
    kv.markPersisted(a.table.blocks[0]);
    expect(kv.snapshot()[a.table.blocks[0]]).toMatchObject({ persisted: true, hash: kv.pool.hashOf(a.table.blocks[0]) });
    kv.dropTable(a.table);
    expect(kv.stats().blocksShared).toBe(0);
  });
});
