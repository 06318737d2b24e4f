import type { EngineOptions } from '../engine/Engine.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import type { ForwardBatch } from '../kv/batch.ts';

/** One forward call as the decorator saw it. */
export interface StepRecord {
  /** performance.now() at the call and when its promise settled. */
  start: number;
  end: number;
  /** When the step's command buffer was handed to the queue (NaN when not seen). */
  submitted: number;
  chunks: number;
  tokens: number;
  /** Chunks of one token (decodes). */
  decodes: number;
  /** dispatchWorkgroups calls recorded during the call. */
  dispatches: number;
  /** Blocks held when the forward was called (the scheduler has reserved the step's slots). */
  blocksUsed: number;
}

const counters = { dispatches: 0, lastSubmit: NaN, installed: false };

/**
 * Counts compute dispatches and notes submit times by wrapping the WebGPU prototypes, so the
 * engine and the forward pass run unchanged. Dawn's objects are instances of the globals that
 * `webgpu` installs; in a browser the same prototypes exist on globalThis.
 */
export function installGpuCounters(): boolean {
  if (counters.installed) return true;
  const g = globalThis as { GPUComputePassEncoder?: { prototype: GPUComputePassEncoder }; GPUQueue?: { prototype: GPUQueue } };
  if (!g.GPUComputePassEncoder || !g.GPUQueue) return false;
  const pass = g.GPUComputePassEncoder.prototype;
  const dispatch = pass.dispatchWorkgroups;
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
    counters.dispatches++;
    return dispatch.apply(this, args);
  };
  const queue = g.GPUQueue.prototype;
  const submit = queue.submit;
  queue.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    counters.lastSubmit = performance.now();
    return submit.call(this, buffers);
  };
  counters.installed = true;
  return true;
}

/**
 * A timing decorator around a ForwardBackend: records every forward (its span, the moment it
 * submitted, its dispatches, the blocks held) without touching the engine or the backend.
 */
export class TimedBackend implements ForwardBackend {
  readonly records: StepRecord[] = [];
  /** Called with the batch before each forward (e.g. to sample scheduler state). */
  blocksUsed: () => number = () => NaN;
  forwardGreedy?: (batch: ForwardBatch) => Promise<number[]>;
  /** Block read-back and upload (prefix persistence), passed through; uploads are timed. */
  readBlocks?: (ids: readonly number[]) => Promise<Float32Array>;
  writeBlocks?: (ids: readonly number[], data: Float32Array) => Promise<void>;
  /** Wall time of each writeBlocks call (restoring stored prefix blocks), ms. */
  readonly writeMs: number[] = [];

  constructor(readonly inner: ForwardBackend) {
    if (inner.forwardGreedy) {
      const greedy = inner.forwardGreedy.bind(inner);
      this.forwardGreedy = (batch) => this.timed(batch, () => greedy(batch));
    }
    if (inner.readBlocks) this.readBlocks = inner.readBlocks.bind(inner);
    if (inner.writeBlocks) {
      const write = inner.writeBlocks.bind(inner);
      this.writeBlocks = async (ids, data) => {
        const t0 = performance.now();
        await write(ids, data);
        this.writeMs.push(performance.now() - t0);
      };
    }
  }

  get name() {
    return this.inner.name;
  }
  get config() {
    return this.inner.config;
  }
  get blockSize() {
    return this.inner.blockSize;
  }
  get numBlocks() {
    return this.inner.numBlocks;
  }

  forward(batch: ForwardBatch): Promise<Float32Array[]> {
    return this.timed(batch, () => this.inner.forward(batch));
  }

  copyBlocks(pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
    return this.inner.copyBlocks(pairs);
  }

  dispose(): void {
    this.inner.dispose();
  }

  reset(): void {
    this.records.length = 0;
    this.writeMs.length = 0;
  }

  private async timed<T>(batch: ForwardBatch, fn: () => Promise<T>): Promise<T> {
    const blocksUsed = this.blocksUsed();
    const d0 = counters.dispatches;
    counters.lastSubmit = NaN;
    const start = performance.now();
    const out = await fn();
    const end = performance.now();
    let tokens = 0;
    let decodes = 0;
    for (const c of batch.chunks) {
      tokens += c.tokens.length;
      if (c.tokens.length === 1) decodes++;
    }
    this.records.push({ start, end, submitted: counters.lastSubmit, chunks: batch.chunks.length, tokens, decodes, dispatches: counters.dispatches - d0, blocksUsed });
    return out;
  }
}

/** Host time of the engine's own phases, per step (index = step), from the engine's onStep hook. */
export interface PhaseTimes {
  /** performance.now() at the start of each step (before schedule()): the step boundaries. */
  stepStarts: number[];
  schedule: number[];
  append: number[];
  sample: number[];
}

export function newPhaseTimes(): PhaseTimes {
  return { stepStarts: [], schedule: [], append: [], sample: [] };
}

export function resetPhases(t: PhaseTimes): void {
  t.stepStarts.length = 0;
  t.schedule.length = 0;
  t.append.length = 0;
  t.sample.length = 0;
}

/** An `onStep` for EngineOptions that records each step's phases into `t`. */
export function recordPhases(t: PhaseTimes): NonNullable<EngineOptions['onStep']> {
  return (s) => {
    t.stepStarts.push(s.start);
    t.schedule.push(s.scheduleMs);
    t.append.push(s.appendMs);
    t.sample.push(s.sampleMs);
  };
}
