import type { StepPlan } from '../scheduler/StepPlan.ts';
import type { Engine } from './Engine.ts';
import type { EngineStats } from './events.ts';

/** Counts what the engine did, for `engine.stats()`: tokens, steps, time in forward passes. */
export class EngineMeter {
  promptTokens = 0;
  generatedTokens = 0;
  steps = 0;
  finishedRequests = 0;
  preemptions = 0;
  private decodeTokens = 0;
  private decodeMs = 0;
  private prefillTokens = 0;
  private prefillMs = 0;

  /** Splits a step's time between its decode and prefill tokens in proportion to their count. */
  step(plan: StepPlan, ms: number): void {
    this.steps++;
    this.preemptions += plan.preempted.length;
    let decode = 0;
    // A verification chunk (speculative decoding) is a decode's rows.
    for (const c of plan.chunks) if (c.tokens.length === 1 || c.verify) decode += c.tokens.length;
    const prefill = plan.numTokens - decode;
    this.decodeTokens += decode;
    this.prefillTokens += prefill;
    this.decodeMs += (ms * decode) / Math.max(1, plan.numTokens);
    this.prefillMs += (ms * prefill) / Math.max(1, plan.numTokens);
  }

  stats(engine: Engine, adapter: string): EngineStats {
    const kv = engine.scheduler.stats();
    const allocated = kv.blocksUsed * engine.backend.blockSize;
    return {
      backend: engine.backend.name,
      adapter,
      model: engine.modelName(),
      blockSize: engine.backend.blockSize,
      kv: {
        blocksTotal: kv.blocksTotal,
        blocksUsed: kv.blocksUsed,
        blocksCachedFree: kv.blocksCachedFree,
        blocksFree: kv.blocksFree - kv.blocksCachedFree,
        blocksShared: kv.blocksShared,
        tokensStored: kv.tokensStored,
        slotsWasted: kv.slotsWasted,
        utilization: allocated === 0 ? 0 : kv.tokensStored / allocated,
      },
      prefix: {
        lookups: kv.prefix.lookups,
        hits: kv.prefix.hitBlocks,
        hitRate: kv.prefix.hitRate,
        cachedPromptTokens: kv.prefix.hitBlocks * engine.backend.blockSize,
      },
      requests: { running: engine.scheduler.numRunning, waiting: engine.scheduler.numWaiting, finished: this.finishedRequests, preemptions: this.preemptions },
      tokens: {
        prompt: this.promptTokens,
        generated: this.generatedTokens,
        decodeTokensPerSecond: this.decodeMs > 0 ? (this.decodeTokens * 1000) / this.decodeMs : 0,
        prefillTokensPerSecond: this.prefillMs > 0 ? (this.prefillTokens * 1000) / this.prefillMs : 0,
      },
      steps: this.steps,
      deviceLosses: 0,
      speculative: { ...engine.speculation.totals },
    };
  }
}
