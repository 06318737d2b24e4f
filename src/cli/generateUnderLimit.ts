import { applyKvMoves, checkKvSupport, scoreFilledBlocks } from '../engine/kvMoves.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { resolveKvLimit } from '../engine/kvRequest.ts';
import { blocksFor } from '../kv/batch.ts';
import { maxHeldBlocks } from '../kv/eviction/KvLimit.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Rng } from '../sampling/Rng.ts';
import { sample } from '../sampling/sample.ts';
import type { SamplingParams } from '../sampling/SamplingParams.ts';
import { NO_RESERVE } from '../scheduler/reserve.ts';
import { Scheduler } from '../scheduler/Scheduler.ts';
import { forwardBatchOf } from '../scheduler/StepPlan.ts';
import type { GenerateRequest } from './GenerateRequest.ts';

/** The pool for one sequence under `req.kv`: its budget plus the block being filled, one spare for a shift's copy. */
export function blocksUnderLimit(req: GenerateRequest, config: ModelConfig, blockSize: number, promptLength: number): number {
  const limit = resolveKvLimit({ budgetTokens: undefined, policy: undefined, overflow: undefined }, req.kv ?? {}, blockSize);
  const context = limit.overflow === 'shift' ? blocksFor(config.maxPositions, blockSize) : Infinity;
  return Math.min(maxHeldBlocks(limit), context, blocksFor(promptLength + req.maxTokens, blockSize)) + 1;
}

/**
 * One sequence through the scheduler under a KV limit (budget and eviction policy, context
 * shift): the same eviction and shift decisions as the engine's, on any backend, with the CLI's
 * host-side sampling, so that both backends give the same ids from equal logits. Records the
 * most KV held at any step from the scheduler's stats.
 */
export async function generateUnderLimit(
  backend: ForwardBackend,
  req: GenerateRequest,
  promptIds: number[],
  params: SamplingParams,
  rng: Rng,
  eos: ReadonlySet<number>,
  onToken: (id: number) => Promise<void>,
): Promise<{ generatedIds: number[]; peakTokensHeld: number; evictedTokens: number }> {
  const kv = resolveKvLimit({ budgetTokens: undefined, policy: undefined, overflow: undefined }, req.kv ?? {}, backend.blockSize);
  checkKvSupport(kv, backend);
  const scheduler = new Scheduler<null>({
    numBlocks: backend.numBlocks,
    blockSize: backend.blockSize,
    modelFingerprint: 'cli',
    maxModelLen: backend.config.maxPositions,
    reserve: NO_RESERVE,
  });
  const seq = scheduler.add({ id: 'cli', prompt: promptIds, maxTokens: req.maxTokens, params: null, kv });
  const generatedIds: number[] = [];
  let peakBlocks = 0;
  while (scheduler.hasWork) {
    const plan = scheduler.schedule();
    if (plan.chunks.length === 0) {
      // A context shift that could not copy a shared block preempted the sequence: readmitted next step.
      scheduler.appendTokens([]);
      if (plan.preempted.length > 0) continue;
      throw new Error(`the KV pool of ${backend.numBlocks} blocks cannot hold the sequence`);
    }
    await applyKvMoves(backend, plan);
    const [logits] = await backend.forward(forwardBatchOf(plan));
    await scoreFilledBlocks(backend, scheduler);
    peakBlocks = Math.max(peakBlocks, scheduler.stats().blocksUsed);
    if (!plan.chunks[0].sample) {
      scheduler.appendTokens([]);
      continue;
    }
    const next = sample(logits, params, rng, [...promptIds, ...generatedIds]);
    if (eos.has(next) && !req.ignoreEos) {
      scheduler.appendTokens([]);
      scheduler.finish(seq.id, 'stop');
      break;
    }
    generatedIds.push(next);
    await onToken(next);
    scheduler.appendTokens([{ seqId: seq.id, token: next }]);
  }
  return { generatedIds, peakTokensHeld: peakBlocks * backend.blockSize, evictedTokens: seq.evictedTokens };
}
