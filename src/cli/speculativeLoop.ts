import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import type { Rng } from '../sampling/Rng.ts';
import { sample } from '../sampling/sample.ts';
import type { SamplingParams } from '../sampling/SamplingParams.ts';
import { nextK } from '../speculative/adaptiveK.ts';
import type { Drafter } from '../speculative/Drafter.ts';
import { noCounts, type SpeculativeCounts } from '../speculative/Speculation.ts';
import { verifyDraft } from '../speculative/verify.ts';

/** What the loop needs besides the backend: the sequence's limits and where each token goes. */
export interface SpeculativeRun {
  promptIds: number[];
  maxTokens: number;
  k: number;
  drafter: Drafter;
  params: SamplingParams;
  rng: Rng;
  /** True when the token ends the sequence (EOS, unless --ignore-eos). */
  ends: (id: number) => boolean;
  onToken: (id: number) => Promise<void>;
}

/**
 * `folio generate --speculative`: one sequence whose drafts are verified in one forward each, by
 * the engine's rule (src/speculative/verify.ts) and adaptive k. The CLI's block table covers
 * the whole sequence contiguously, so the slots of rejected drafts need no release: the next
 * chunk overwrites them before anything reads them.
 */
export async function generateSpeculative(backend: ForwardBackend, run: SpeculativeRun): Promise<{ generatedIds: number[]; counts: SpeculativeCounts }> {
  const vocab = backend.config.vocabSize;
  const blockTable = Array.from({ length: backend.numBlocks }, (_, i) => i);
  const counts = noCounts();
  const generatedIds: number[] = [];
  const s = run.params;
  const sampling = s.temperature > 0 ? { temperature: s.temperature, topK: s.topK, topP: s.topP, next: () => run.rng.next() } : undefined;
  let k = run.k;
  let chunk = run.promptIds;
  let startPos = 0;
  try {
    while (generatedIds.length < run.maxTokens) {
      const context = [...run.promptIds, ...generatedIds];
      const room = Math.min(k, run.maxTokens - generatedIds.length - 1, backend.config.maxPositions - context.length);
      const draft = generatedIds.length > 0 && room > 0 ? (await run.drafter.propose([{ seqId: 'cli', context, k: room, sampling }]))[0] : { tokens: [], probs: null };
      const drafted = draft.tokens.slice(0, Math.max(0, room));
      const [rows] = await backend.forward({ chunks: [{ tokens: [...chunk, ...drafted], startPos, blockTable }], logits: drafted.length > 0 ? 'all' : 'last' });
      counts.target_forwards++;
      let emitted: number[];
      if (drafted.length === 0) emitted = [sample(rows, s, run.rng, context)];
      else {
        // Row i: the logits after chunk's last token and i drafts.
        const row = (i: number) => rows.subarray((chunk.length - 1 + i) * vocab, (chunk.length + i) * vocab);
        const verdict = verifyDraft(row, drafted, draft.probs, s, () => run.rng.next());
        emitted = [...drafted.slice(0, verdict.accepted), verdict.token];
        counts.drafted_tokens += drafted.length;
        counts.accepted_tokens += verdict.accepted;
        k = nextK(k, drafted.length, verdict.accepted, run.k);
      }
      for (const id of emitted) {
        if (run.ends(id)) return { generatedIds, counts };
        generatedIds.push(id);
        await run.onToken(id);
        if (generatedIds.length >= run.maxTokens) break;
      }
      startPos += chunk.length + emitted.length - 1;
      chunk = [emitted[emitted.length - 1]];
    }
    return { generatedIds, counts };
  } finally {
    run.drafter.release('cli');
  }
}
