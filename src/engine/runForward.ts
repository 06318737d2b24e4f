import { forwardBatchOf, type StepPlan } from '../scheduler/StepPlan.ts';
import type { DeviceSampleRow, ForwardBackend } from './ForwardBackend.ts';
import { hasPenalties } from '../sampling/penalties.ts';
import type { Request } from './Request.ts';

/** A step's result: whole logits rows, or ids drawn on the device (argmax or forwardSample). */
export type StepOutput = { rows: Float32Array[]; ids?: undefined } | { ids: number[]; rows?: undefined };

/**
 * Runs one step's forward and reads back as little as the step allows: argmax ids when every
 * sampled chunk is greedy, ids drawn on the device when no sampled chunk needs its logits
 * (repetition penalty, logprobs, or the n > 1 fork, which samples each child from one row),
 * and whole logits otherwise.
 */
export async function runForward(backend: ForwardBackend, plan: StepPlan, requestOf: (seqId: string) => Request | undefined): Promise<StepOutput> {
  const batch = forwardBatchOf(plan);
  const sampled = plan.chunks.filter((c) => c.sample).map((c) => ({ seqId: c.seqId, request: requestOf(c.seqId) }));
  const greedy = sampled.every(({ request }) => !request || isGreedy(request));
  if (greedy && backend.forwardGreedy) return { ids: await backend.forwardGreedy(batch) };
  const rows = backend.forwardSample ? deviceSampleRows(plan, requestOf) : null;
  if (rows) return { ids: await backend.forwardSample!(batch, rows) };
  return { rows: await backend.forward(batch) };
}

/** Penalties and biases change the logits on the host (src/sampling/penalties.ts, logitBias.ts). */
function adjustsLogits(request: Request): boolean {
  const p = request.params;
  return p.sampling.repetitionPenalty !== 1 || hasPenalties(p.penalties) || p.logitBias !== null;
}

/** Greedy without penalties or logprobs: the device's argmax is all the step needs. */
function isGreedy(request: Request): boolean {
  const p = request.params;
  return p.sampling.temperature === 0 && !adjustsLogits(request) && p.topLogprobs === null;
}

/**
 * The rows for forwardSample, one per chunk; null when some sampled chunk needs its logits.
 * Draws each sampled choice's u from its Rng here: the one draw `sample` would make on the
 * host, so seeded output is the same either way.
 */
function deviceSampleRows(plan: StepPlan, requestOf: (seqId: string) => Request | undefined): DeviceSampleRow[] | null {
  const rows: DeviceSampleRow[] = plan.chunks.map(() => ({ temperature: 0, topK: 0, topP: 1, u: 0 }));
  const draws: Array<() => void> = [];
  for (const [i, chunk] of plan.chunks.entries()) {
    const request = chunk.sample ? requestOf(chunk.seqId) : undefined;
    if (!request) continue;
    const p = request.params;
    if (adjustsLogits(request) || p.topLogprobs !== null || (!request.forked && p.n > 1)) return null;
    const s = p.sampling;
    // Drawn only once the whole step is known to go to the device: a step that falls back to
    // logits must leave every Rng untouched.
    draws.push(() => {
      rows[i] = { temperature: s.temperature, topK: s.topK, topP: s.topP, u: s.temperature === 0 ? 0 : request.choiceOf(chunk.seqId)!.rng.next() };
    });
  }
  for (const draw of draws) draw();
  return rows;
}
