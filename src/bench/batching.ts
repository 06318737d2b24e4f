import type { Tokenizer } from '../tokenizer/Tokenizer.ts';
import type { ModelWeights } from '../model/weights.ts';
import { benchEngine, runRequest } from './engines.ts';
import { newPhaseTimes, type PhaseTimes, recordPhases, resetPhases, type StepRecord } from './instrument.ts';
import { median, prng } from './stats.ts';

export interface BatchingOptions {
  weights: ModelWeights;
  tokenizer: Tokenizer;
  streams: number[];
  maxTokens: number;
  repeats: number;
  log: (msg: string) => void;
}

/** Per-step host time in a decode step, ms (medians over the decode steps of a run, then over repeats). */
export interface StepBreakdown {
  stepMs: number;
  scheduleMs: number;
  /** From the forward call to queue.submit(): packing, uploads (writeBuffer), encoding. */
  prepareMs: number;
  /** From submit to the read-back in hand: the GPU's work, the copy and the map. */
  gpuWaitMs: number;
  sampleMs: number;
  appendMs: number;
  /** Streaming events, the engine's yield between steps, promise hops. */
  otherMs: number;
  /** Host time outside the GPU wait / step time. */
  hostFraction: number;
  dispatchesPerStep: number;
  dispatchesPerToken: number;
}

export interface BatchingRow {
  streams: number;
  /** Decode tokens / wall time over the decode steps (engine overhead included), median. */
  tokensPerSecond: number;
  /** Same tokens / time inside forward calls only. */
  forwardTokensPerSecond: number;
  speedup: number;
  runs: number[];
  breakdown: StepBreakdown;
}

export interface BatchingResult {
  rows: BatchingRow[];
  promptTokens: number[];
  maxTokens: number;
}

/** A story-like prompt of about `words` words, different for each seed. */
export function storyText(seed: number, words: number): string {
  const vocab = ['Lily', 'Tom', 'the', 'dog', 'park', 'ball', 'happy', 'sun', 'tree', 'ran', 'saw', 'a', 'big', 'red', 'and', 'went'];
  const rand = prng(seed + 1);
  return Array.from({ length: words }, () => vocab[Math.floor(rand() * vocab.length)]).join(' ');
}

interface RunMeasure {
  tps: number;
  ftps: number;
  breakdown: StepBreakdown;
}

function measureRun(records: StepRecord[], phases: PhaseTimes, streams: number): RunMeasure {
  // Steps where every stream decodes: the steady state.
  const idx = records.map((r, i) => (r.decodes === streams && r.chunks === streams ? i : -1)).filter((i) => i >= 0);
  if (idx.length < 2) throw new Error(`only ${idx.length} decode steps with ${streams} streams`);
  const first = records[idx[0]];
  const last = records[idx[idx.length - 1]];
  let tokens = 0;
  for (const i of idx.slice(0, -1)) tokens += records[i].tokens;
  const tps = (tokens * 1000) / (last.start - first.start);
  let fwdMs = 0;
  let fwdTokens = 0;
  for (const i of idx) {
    fwdMs += records[i].end - records[i].start;
    fwdTokens += records[i].tokens;
  }
  // Per-step breakdown over decode steps that have a following step (for their length).
  const steps = idx.filter((i) => i + 1 < phases.stepStarts.length);
  const per = (f: (i: number) => number) => median(steps.map(f));
  const stepMs = (i: number) => phases.stepStarts[i + 1] - phases.stepStarts[i];
  const gpuWait = (i: number) => records[i].end - records[i].submitted;
  const breakdown: StepBreakdown = {
    stepMs: per(stepMs),
    scheduleMs: per((i) => phases.schedule[i] ?? 0),
    prepareMs: per((i) => records[i].submitted - records[i].start),
    gpuWaitMs: per(gpuWait),
    sampleMs: per((i) => phases.sample[i] ?? 0),
    appendMs: per((i) => phases.append[i] ?? 0),
    otherMs: per(
      (i) => stepMs(i) - (phases.schedule[i] ?? 0) - (records[i].end - records[i].start) - (phases.sample[i] ?? 0) - (phases.append[i] ?? 0),
    ),
    hostFraction: per((i) => (stepMs(i) - gpuWait(i)) / stepMs(i)),
    dispatchesPerStep: per((i) => records[i].dispatches),
    dispatchesPerToken: per((i) => records[i].dispatches / records[i].tokens),
  };
  return { tps, ftps: (fwdTokens * 1000) / fwdMs, breakdown };
}

function medianBreakdown(bs: StepBreakdown[]): StepBreakdown {
  const keys = Object.keys(bs[0]) as (keyof StepBreakdown)[];
  return Object.fromEntries(keys.map((k) => [k, median(bs.map((b) => b[k]))])) as unknown as StepBreakdown;
}

/**
 * Aggregate decode throughput with 1..16 concurrent greedy streams on one engine (WebGPU),
 * each stream a distinct short prompt and exactly maxTokens tokens (EOS ignored). The stream
 * counts are interleaved within each repeat so that load drifting on a shared machine hits all
 * of them alike. The same runs give the per-step host-time breakdown and dispatch counts.
 */
export async function benchBatching(o: BatchingOptions): Promise<BatchingResult> {
  const maxStreams = Math.max(...o.streams);
  const phases = newPhaseTimes();
  const { engine, timed, dispose } = await benchEngine({ weights: o.weights, tokenizer: o.tokenizer, backend: 'webgpu', numBlocks: 512, name: 'stories260K', onStep: recordPhases(phases) });
  const promptTokens: number[] = [];
  try {
    const run = async (streams: number, seed: number) => {
      timed.reset();
      resetPhases(phases);
      const results = await Promise.all(
        Array.from({ length: streams }, (_, i) => runRequest(engine, { prompt: storyText(seed * 100 + i, 8), max_tokens: o.maxTokens, temperature: 0 })),
      );
      for (const r of results) {
        if (r.completionTokens !== o.maxTokens) throw new Error(`a stream produced ${r.completionTokens} tokens, not ${o.maxTokens}`);
        promptTokens.push(r.promptTokens);
      }
      return measureRun(timed.records, phases, streams);
    };
    o.log(`batching: warm-up with ${maxStreams} streams`);
    await run(maxStreams, 999);
    promptTokens.length = 0;
    const per = new Map<number, RunMeasure[]>(o.streams.map((s) => [s, []]));
    for (let r = 0; r < o.repeats; r++) {
      for (const s of o.streams) per.get(s)!.push(await run(s, r * 17 + s));
      o.log(`batching: repeat ${r + 1}/${o.repeats}: ${o.streams.map((s) => `${s}:${per.get(s)![r].tps.toFixed(0)}`).join(' ')} tok/s`);
    }
    // Speed-up: the median of per-repeat ratios (each against the 1-stream run of the same
    // repeat, minutes apart at most), which drifting load disturbs less than a ratio of medians.
    const base = per.get(o.streams[0])!;
    const rows = o.streams.map((s) => {
      const ms = per.get(s)!;
      const tps = median(ms.map((m) => m.tps));
      return {
        streams: s,
        tokensPerSecond: tps,
        forwardTokensPerSecond: median(ms.map((m) => m.ftps)),
        speedup: median(ms.map((m, r) => m.tps / base[r].tps)),
        runs: ms.map((m) => m.tps),
        breakdown: medianBreakdown(ms.map((m) => m.breakdown)),
      };
    });
    return { rows, promptTokens: [Math.min(...promptTokens), Math.max(...promptTokens)], maxTokens: o.maxTokens };
  } finally {
    dispose();
  }
}
