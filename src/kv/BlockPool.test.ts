import { describe, expect, it } from 'vitest';
import { KvCacheFullError } from '../errors.ts';
import { BlockPool } from './BlockPool.ts';

describe('BlockPool', () => {
  it('allocates every block once, then refuses', () => {
    const pool = new BlockPool(4);
    const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
    expect(new Set(got).size).toBe(4);
    expect(pool.numFree).toBe(0);
    expect(pool.numUsed).toBe(4);
    expect(() => pool.allocate()).toThrow(KvCacheFullError);
  });

  it('counts references and frees at zero', () => {
    const pool = new BlockPool(2);
    const b = pool.allocate();
    pool.retain(b);
    pool.release(b);
    expect(pool.isFree(b)).toBe(false);
    pool.release(b);
    expect(pool.isFree(b)).toBe(true);
    expect(() => pool.release(b)).toThrow();
  });

  it('reuses the least recently freed cached block first, evicting its hash', () => {
    const pool = new BlockPool(3);
    const [a, b, c] = [pool.allocate(), pool.allocate(), pool.allocate()];
    const evicted: string[] = [];
    pool.onEvict((_, h) => evicted.push(h));
    pool.setHash(a, 'ha');
    pool.setHash(b, 'hb');
    pool.setHash(c, 'hc');
    pool.release(b);
    pool.release(a);
    pool.release(c);
    expect(pool.freeOrder()).toEqual([b, a, c]);
    expect(pool.allocate()).toBe(b);
    expect(evicted).toEqual(['hb']);
    expect(pool.hashOf(b)).toBeUndefined();
    expect(pool.hashOf(a)).toBe('ha');
  });

  it('frees a chain tail first, so that its head is evicted last', () => {
    const pool = new BlockPool(3);
    const chain = [pool.allocate(), pool.allocate(), pool.allocate()];
    chain.forEach((b, i) => pool.setHash(b, `h${i}`));
    pool.releaseChain(chain);
    expect(pool.freeOrder()).toEqual([chain[2], chain[1], chain[0]]);
  });

  it('puts unhashed freed blocks before cached ones', () => {
    const pool = new BlockPool(2);
    const [cached, plain] = [pool.allocate(), pool.allocate()];
    pool.setHash(cached, 'h');
    pool.release(cached);
    pool.release(plain);
    expect(pool.allocate()).toBe(plain);
    expect(pool.hashOf(cached)).toBe('h');
  });

  it('revives a cached block on retain, out of the free queue', () => {
    const pool = new BlockPool(3);
    const b = pool.allocate();
    pool.setHash(b, 'h');
    pool.release(b);
    pool.retain(b);
    expect(pool.refCount(b)).toBe(1);
    expect(pool.isFree(b)).toBe(false);
    expect(pool.hashOf(b)).toBe('h');
    expect(pool.numFree).toBe(2);
  });

  it('evicts cached blocks on demand, LRU first, with their persisted marks', () => {
    const pool = new BlockPool(3);
    const [a, b] = [pool.allocate(), pool.allocate()];
    pool.setHash(a, 'ha');
    pool.setHash(b, 'hb');
    pool.markPersisted(b);
    pool.release(a);
    pool.release(b);
    expect(pool.evictCached(1)).toBe(1);
    expect(pool.hashOf(a)).toBeUndefined();
    expect(pool.isPersisted(b)).toBe(true);
    expect(pool.evictCached()).toBe(1);
    expect(pool.isPersisted(b)).toBe(false);
    expect(pool.numFree).toBe(3);
  });

  it('never makes a block that a planned copy reads a copy destination before endStep, though it may hand it out fresh', () => {
    const pool = new BlockPool(3);
    const src = pool.allocate();
    pool.markStepRead(src);
    pool.release(src); // its last holder lets go: free, at the front of the queue
    expect(pool.freeOrder()[0]).toBe(src);
    expect(pool.numCopyDestinations).toBe(2);
    const dst = pool.allocate('copy');
    expect(dst).not.toBe(src);
    pool.allocate('copy');
    expect(pool.numCopyDestinations).toBe(0);
    expect(() => pool.allocate('copy')).toThrow(KvCacheFullError);
    expect(pool.allocate()).toBe(src); // the forward writes it after the copies have run
    pool.release(src);
    pool.endStep();
    expect(pool.allocate('copy')).toBe(src);
  });
});
