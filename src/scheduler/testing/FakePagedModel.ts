import { cacheStartOf, slotOf } from '../../kv/batch.ts';
import type { CopyPair } from '../../kv/BlockTable.ts';
import type { SampledToken, StepPlan } from '../StepPlan.ts';

/**
 * A deterministic stand-in for the model, for scheduler tests. Its "KV cache" is the token id
 * written at each slot, and it reads a sequence's history only through the chunk's block table,
 * so that any paging, prefix-cache or copy-on-write mistake changes the tokens it produces.
 * Next token = a hash of every token so far (greedy decoding of a toy model).
 */
export class FakePagedModel {
  /** token + 1 per slot; 0 for a slot never written. */
  private readonly slots: Int32Array;

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
    readonly vocabSize = 1000,
  ) {
    this.slots = new Int32Array(numBlocks * blockSize);
  }

  /** What the model would say after `tokens`, computed without any cache. */
  static next(tokens: readonly number[], vocabSize = 1000): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < tokens.length; i++) {
      h = Math.imul(h ^ tokens[i], 0x01000193);
      h ^= h >>> 15;
    }
    return (h >>> 0) % vocabSize;
  }

  /** The greedy continuation of a prompt, computed without any cache. */
  static greedy(prompt: readonly number[], maxTokens: number, vocabSize = 1000, eos?: number): number[] {
    const all = [...prompt];
    const out: number[] = [];
    while (out.length < maxTokens) {
      const t = FakePagedModel.next(all, vocabSize);
      out.push(t);
      all.push(t);
      if (t === eos) break;
    }
    return out;
  }

  copyBlocks(pairs: readonly CopyPair[]): void {
    const bs = this.blockSize;
    for (const [src, dst] of pairs) this.slots.copyWithin(dst * bs, src * bs, (src + 1) * bs);
  }

  /** Runs the copies, then the forward: writes each chunk's tokens, samples where asked. */
  step(plan: StepPlan): SampledToken[] {
    this.copyBlocks(plan.copies);
    for (const c of plan.chunks) {
      c.tokens.forEach((t, i) => {
        this.slots[slotOf(c.blockTable, cacheStartOf(c) + i, this.blockSize)] = t + 1;
      });
    }
    const out: SampledToken[] = [];
    for (const c of plan.chunks) {
      if (!c.sample) continue;
      // A verification chunk (speculative decoding): drafts stand while they equal the greedy
      // token after the rows before them, each read back through the block table.
      const drafted = c.verify ?? 0;
      const rowEnd = cacheStartOf(c) + c.tokens.length - drafted;
      let accepted = 0;
      let token = FakePagedModel.next(this.read(c.blockTable, rowEnd), this.vocabSize);
      while (accepted < drafted && token === c.tokens[c.tokens.length - drafted + accepted]) {
        accepted++;
        token = FakePagedModel.next(this.read(c.blockTable, rowEnd + accepted), this.vocabSize);
      }
      out.push(drafted > 0 ? { seqId: c.seqId, token, accepted } : { seqId: c.seqId, token });
    }
    return out;
  }

  /** Cache entries [0, length) of a sequence (its positions, without eviction), read through its block table. */
  read(blockTable: readonly number[], length: number): number[] {
    const tokens: number[] = [];
    for (let p = 0; p < length; p++) {
      const v = this.slots[slotOf(blockTable, p, this.blockSize)];
      if (v === 0) throw new Error(`position ${p} was never written`);
      tokens.push(v - 1);
    }
    return tokens;
  }
}
