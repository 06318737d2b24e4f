import type { Engine } from '../engine/Engine.ts';
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

  constructor(readonly inner: ForwardBackend) {
    if (inner.forwardGreedy) {
      const greedy = inner.forwardGreedy.bind(inner);
      this.forwardGreedy = (batch) => this.timed(batch, () => greedy(batch));
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

/** Host time of the engine's own phases, per step (index = step), from wrapping its methods. */
export interface PhaseTimes {
  /** performance.now() at each schedule() call: the step boundaries. */
  stepStarts: number[];
  schedule: number[];
  append: number[];
  sample: number[];
}

export function resetPhases(t: PhaseTimes): void {
  t.stepStarts.length = 0;
  t.schedule.length = 0;
  t.append.length = 0;
  t.sample.length = 0;
}

/**
 * Wraps engine.scheduler.schedule/appendTokens and the engine's sampling on this instance only
 * (no source edits) and records each one's wall time per step. The engine runs one step at a
 * time (schedule, copies, forward, sample, appendTokens, stream, yield), so the step is the
 * index of the last schedule().
 */
export function instrumentEngine(engine: Engine): PhaseTimes {
  const t: PhaseTimes = { stepStarts: [], schedule: [], append: [], sample: [] };
  const add = (list: number[], ms: number) => {
    const i = t.stepStarts.length - 1;
    list[i] = (list[i] ?? 0) + ms;
  };
  const s = engine.scheduler;
  const schedule = s.schedule.bind(s);
  s.schedule = () => {
    const t0 = performance.now();
    t.stepStarts.push(t0);
    try {
      return schedule();
    } finally {
      add(t.schedule, performance.now() - t0);
    }
  };
  const append = s.appendTokens.bind(s);
  s.appendTokens = (results) => {
    const t0 = performance.now();
    try {
      return append(results);
    } finally {
      add(t.append, performance.now() - t0);
    }
  };
  // sampleStep is private in TypeScript only; wrapped on this instance for timing.
  const e = engine as unknown as { sampleStep: (...args: unknown[]) => unknown };
  const sample = e.sampleStep.bind(engine);
  e.sampleStep = (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return sample(...args);
    } finally {
      add(t.sample, performance.now() - t0);
    }
  };
  return t;
}
