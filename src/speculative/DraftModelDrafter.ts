import type { SequenceChunk } from '../kv/batch.ts';
import { type ForwardBackend, NON_FINITE_ID } from '../engine/ForwardBackend.ts';
import { argmax } from '../sampling/argmax.ts';
import { firstNonFinite, sampleWithU } from '../sampling/sample.ts';
import type { Draft, DraftRequest, Drafter } from './Drafter.ts';
import { targetDistribution } from './verify.ts';
import { DraftKv, type DraftSequence } from './draftKv.ts';

export interface DraftModelDrafterOptions {
  /** Tokens per prefill forward across all sequences (a long new prompt is fed in pieces). Default 512. */
  prefillBudget?: number;
  /** Told of the first failed draft (a failed step drafts nothing and starts over from an empty cache). */
  onWarning?: (message: string) => void;
}

/** One sequence being drafted in this call. */
interface Active {
  req: DraftRequest;
  seq: DraftSequence;
  /** How many tokens to draft: the request's k, less what the draft model's context allows. */
  k: number;
  tokens: number[];
  probs: Float32Array[];
  /** The last drafted token, not yet in the draft cache (fed by the next forward). */
  pending: number | null;
  stopped: boolean;
}

/**
 * Drafting with a second, smaller model (or the same model in a smaller weight format) that
 * shares the target's tokenizer, on its own backend and its own paged KV (DraftKv).
 *
 * Per sequence the draft cache keeps the tokens it has seen, drafted ones included. A new
 * context keeps the longest common prefix (the accepted drafts stay; the rejected ones are cut
 * off: the rollback), the missing tokens are computed for all sequences in one batched forward
 * (pieces of `prefillBudget` tokens), and then each drafted position is one forward for all
 * sequences together. Greedy requests get the argmax (probs null); sampled ones a draw by
 * sampleWithU's definition with their DraftSampling, and the distribution it came from.
 *
 * Drafting is best-effort: a pool too small drops least recently used sequences' KV, a request
 * that still does not fit drafts nothing, and a failed forward drafts nothing and clears the
 * cache; the target verifies every token anyway.
 */
export class DraftModelDrafter implements Drafter {
  readonly method = 'draft' as const;
  private readonly kv: DraftKv;
  private readonly prefillBudget: number;
  private warned = false;

  constructor(
    readonly backend: ForwardBackend,
    private readonly opts: DraftModelDrafterOptions = {},
  ) {
    this.kv = new DraftKv(backend.numBlocks, backend.blockSize);
    this.prefillBudget = Math.max(1, opts.prefillBudget ?? 512);
  }

  /** Blocks of the draft cache held by sequences now. */
  get blocksInUse(): number {
    return this.kv.pool.numUsed;
  }

  /** Sequences whose tokens the draft cache holds. */
  get sequencesHeld(): number {
    return this.kv.numSequences;
  }

  async propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    const active = this.admit(requests);
    try {
      await this.prefill(active);
      while (active.some((a) => this.wantsMore(a))) await this.step(active.filter((a) => this.wantsMore(a)));
    } catch (e) {
      this.kv.clear();
      if (!this.warned) this.opts.onWarning?.(`speculative decoding: the draft model failed (${e instanceof Error ? e.message : String(e)}); it drafts nothing for that step`);
      this.warned = true;
      return requests.map((r) => ({ tokens: [], probs: r.sampling ? [] : null }));
    }
    const byRequest = new Map(active.map((a) => [a.req, a]));
    return requests.map((r) => {
      const a = byRequest.get(r);
      if (!a) return { tokens: [], probs: r.sampling ? [] : null };
      return { tokens: a.tokens, probs: r.sampling ? a.probs : null };
    });
  }

  release(seqId: string): void {
    this.kv.release(seqId);
  }

  /** Frees the draft backend (its weights and KV). */
  dispose(): void {
    this.kv.clear();
    this.backend.dispose();
  }

  /**
   * The requests that will draft: each cut back to its common prefix with the new context (at
   * least one context token is recomputed, for the logits that draft the first token) and given
   * blocks for its context and k - 1 drafted tokens (the last drafted token is never fed).
   */
  private admit(requests: readonly DraftRequest[]): Active[] {
    const protect = new Set(requests.map((r) => r.seqId));
    const active: Active[] = [];
    const maxPositions = this.backend.config.maxPositions;
    const seen = new Set<string>();
    for (const req of requests) {
      const k = Math.min(req.k, maxPositions - req.context.length + 1);
      // A sequence asked for twice in one call has one cache: the first request drafts, the other gets nothing.
      if (!(k >= 1) || req.context.length === 0 || seen.has(req.seqId)) continue;
      seen.add(req.seqId);
      const seq = this.kv.touch(req.seqId);
      this.kv.truncate(seq, Math.min(commonPrefix(seq.tokens, req.context), req.context.length - 1));
      if (!this.kv.reserve(seq, req.context.length + k - 1, protect)) {
        this.kv.release(req.seqId);
        continue;
      }
      active.push({ req, seq, k, tokens: [], probs: [], pending: null, stopped: false });
    }
    return active;
  }

  private wantsMore(a: Active): boolean {
    return !a.stopped && a.tokens.length < a.k;
  }

  /** Feeds each sequence's missing context tokens; the chunk that ends a context drafts its first token. */
  private async prefill(active: Active[]): Promise<void> {
    for (;;) {
      const chunks: SequenceChunk[] = [];
      const fed: Array<{ a: Active; tokens: number[] }> = [];
      let budget = this.prefillBudget;
      for (const a of active) {
        const missing = a.req.context.length - a.seq.tokens.length;
        if (missing <= 0 || budget <= 0) continue;
        const tokens = a.req.context.slice(a.seq.tokens.length, a.seq.tokens.length + Math.min(missing, budget));
        budget -= tokens.length;
        chunks.push({ tokens, startPos: a.seq.tokens.length, blockTable: a.seq.blocks });
        fed.push({ a, tokens });
      }
      if (chunks.length === 0) return;
      const ends = fed.map(({ a, tokens }) => a.seq.tokens.length + tokens.length === a.req.context.length);
      const picks = await this.forward(chunks, fed.map(({ a }, i) => (ends[i] ? a : null)));
      fed.forEach(({ a, tokens }, i) => {
        a.seq.tokens.push(...tokens);
        if (ends[i]) this.take(a, picks[i]);
      });
    }
  }

  /** One drafted position for every sequence in `active`: feeds each one's last drafted token. */
  private async step(active: Active[]): Promise<void> {
    const chunks = active.map((a) => ({ tokens: [a.pending!], startPos: a.seq.tokens.length, blockTable: a.seq.blocks }));
    const picks = await this.forward(chunks, active);
    active.forEach((a, i) => {
      a.seq.tokens.push(a.pending!);
      this.take(a, picks[i]);
    });
  }

  private take(a: Active, pick: { token: number; probs: Float32Array | null } | null): void {
    if (!pick) {
      a.stopped = true; // logits not finite: no guess worth a verification row
      return;
    }
    a.tokens.push(pick.token);
    if (pick.probs) a.probs.push(pick.probs);
    a.pending = pick.token;
  }

  /**
   * One forward; per chunk, the token its last logits give (null for logits not all finite, or
   * for a chunk without an owner: a prefill piece that does not end its context draws nothing).
   * When no chunk samples, the backend's own argmax (a GPU then reads back one id per chunk).
   */
  private async forward(chunks: SequenceChunk[], owners: ReadonlyArray<Active | null>): Promise<Array<{ token: number; probs: Float32Array | null } | null>> {
    const batch = { chunks, logits: 'last' as const };
    const sampled = owners.some((a) => a?.req.sampling);
    if (!sampled && this.backend.forwardGreedy) {
      const ids = await this.backend.forwardGreedy(batch);
      return ids.map((token) => (token === NON_FINITE_ID ? null : { token, probs: null }));
    }
    const rows = await this.backend.forward(batch);
    return rows.map((row, i) => {
      const owner = owners[i];
      if (!owner || firstNonFinite(row) >= 0) return null;
      const s = owner.req.sampling;
      if (!s) return { token: argmax(row), probs: null };
      // The very distribution sampleWithU draws from, which the speculative sampling rule needs as q.
      const probs = Float32Array.from(targetDistribution(row, s));
      return { token: s.temperature === 0 ? argmax(row) : sampleWithU(row, s, s.next()), probs };
    });
  }
}

/** Length of the longest common prefix of two token lists. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
