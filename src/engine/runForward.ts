import { forwardBatchOf, type StepPlan } from '../scheduler/StepPlan.ts';
import type { DeviceSampleRow, ForwardBackend } from './ForwardBackend.ts';
import { GrammarDeadEndError } from '../errors.ts';
import { logitAdjustments, rowMask, type TokenMask } from '../sampling/logitAdjustments.ts';
import { hasPenalties } from '../sampling/penalties.ts';
import type { Request } from './Request.ts';

/**
 * A step's result: whole logits rows (each chunk's last; and for a chunk that verifies drafts,
 * `verify` holds its every row), or ids drawn on the device (argmax or forwardSample).
 */
export type StepOutput = { rows: Float32Array[]; ids?: undefined; verify?: (Float32Array | undefined)[] } | { ids: number[]; rows?: undefined; verify?: undefined };

/**
 * Runs one step's forward and reads back as little as the step allows: argmax ids when every
 * sampled chunk is greedy, ids drawn on the device when no sampled chunk needs its logits
 * (repetition penalty, logprobs, or the n > 1 fork, which samples each child from one row),
 * and whole logits otherwise.
 */
export async function runForward(backend: ForwardBackend, plan: StepPlan, requestOf: (seqId: string) => Request | undefined): Promise<StepOutput> {
  const batch = forwardBatchOf(plan);
  if (batch.logits === 'all') return verifyRows(plan, await backend.forward(batch), backend.config.vocabSize);
  const sampled = plan.chunks.filter((c) => c.sample).map((c) => ({ seqId: c.seqId, request: requestOf(c.seqId) }));
  const greedy = sampled.every(({ request }) => !request || isGreedy(request));
  if (greedy && backend.forwardGreedy) return { ids: await backend.forwardGreedy(batch) };
  const rows = backend.forwardSample ? deviceSampleRows(plan, requestOf, backend.config.vocabSize) : null;
  if (rows) return { ids: await backend.forwardSample!(batch, rows) };
  return { rows: await backend.forward(batch) };
}

/** The repetition penalty changes the logits on the host only (src/sampling/sample.ts). */
function needsLogits(request: Request): boolean {
  return request.params.sampling.repetitionPenalty !== 1;
}

/** Greedy without penalties, biases, grammar or logprobs: the device's argmax is all the step needs. */
function isGreedy(request: Request): boolean {
  const p = request.params;
  const adjusted = hasPenalties(p.penalties) || p.logitBias !== null || p.grammar !== null;
  return p.sampling.temperature === 0 && !needsLogits(request) && !adjusted && p.topLogprobs === null;
}

/**
 * The rows for forwardSample, one per chunk; null when some sampled chunk needs its logits.
 * Draws each sampled choice's u from its Rng here: the one draw `sample` would make on the
 * host, so seeded output is the same either way.
 */
function deviceSampleRows(plan: StepPlan, requestOf: (seqId: string) => Request | undefined, vocab: number): DeviceSampleRow[] | null {
  const rows: DeviceSampleRow[] = plan.chunks.map(() => ({ temperature: 0, topK: 0, topP: 1, u: 0 }));
  const draws: Array<() => void> = [];
  for (const [i, chunk] of plan.chunks.entries()) {
    const request = chunk.sample ? requestOf(chunk.seqId) : undefined;
    if (!request) continue;
    const p = request.params;
    if (needsLogits(request) || p.topLogprobs !== null || (!request.forked && p.n > 1)) return null;
    const s = p.sampling;
    // Penalties, bans and the grammar's mask go with the row (wgsl/logit_adjust.wgsl). A grammar
    // at a dead end sends the step to the host, where the error ends that request alone.
    const seq = request.sequences.find((q) => q.id === chunk.seqId);
    const adjustments = logitAdjustments(seq?.outputTokens ?? [], p.penalties, p.logitBias);
    let grammar: TokenMask | null = null;
    try {
      grammar = request.choiceOf(chunk.seqId)?.constraint?.mask() ?? null;
    } catch (e) {
      if (e instanceof GrammarDeadEndError) return null;
      throw e;
    }
    const mask = rowMask(vocab, grammar, adjustments?.banned ?? []);
    // Drawn only once the whole step is known to go to the device: a step that falls back to
    // logits must leave every Rng untouched.
    draws.push(() => {
      rows[i] = { temperature: s.temperature, topK: s.topK, topP: s.topP, u: s.temperature === 0 ? 0 : request.choiceOf(chunk.seqId)!.rng.next(), adjustments, mask };
    });
  }
  for (const draw of draws) draw();
  return rows;
}

/**
 * Splits a forward with every row's logits (a step that verifies drafts): each chunk's last row,
 * and a verification chunk's rows whole. Plain chunks in the same step returned all their rows
 * too (the backends choose per batch), of which only the last is kept.
 */
function verifyRows(plan: StepPlan, all: Float32Array[], vocab: number): StepOutput {
  const rows = all.map((r) => r.subarray(r.length - vocab));
  return { rows, verify: plan.chunks.map((c, i) => (c.verify ? all[i] : undefined)) };
}
