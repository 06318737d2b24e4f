import { resolve } from 'node:path';
import { CpuBackend } from '../cpu/CpuBackend.ts';
import { Engine, type EngineOptions } from '../engine/Engine.ts';
import type { EngineEvent } from '../engine/events.ts';
import type { ForwardBackend } from '../engine/ForwardBackend.ts';
import { GpuBackend } from '../gpu/GpuBackend.ts';
import { FolderSource } from '../model/FolderSource.ts';
import { loadModel } from '../model/loadModel.ts';
import type { ModelWeights } from '../model/weights.ts';
import { StreamDecoder } from '../tokenizer/StreamDecoder.ts';
import { Tokenizer } from '../tokenizer/Tokenizer.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { TimedBackend } from './instrument.ts';

export const DEFAULT_MODEL_DIR = resolve('models', 'stories260K');

export interface LoadedStories {
  weights: ModelWeights;
  tokenizer: Tokenizer;
}

/**
 * stories260K with its tokenizer, EOS ignored (as vLLM's benchmarks do with ignore_eos), so that
 * every stream runs its full max_tokens and batch sizes stay what the benchmark says.
 */
export async function loadStories(dir = DEFAULT_MODEL_DIR): Promise<LoadedStories> {
  const { weights, tokenizerJson, tokenizerConfig } = await loadModel(new FolderSource(dir));
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig, {});
  // The engine reads eosIds: an empty list never stops a stream early.
  Object.defineProperty(tokenizer, 'eosIds', { value: [] });
  return { weights, tokenizer };
}

/**
 * A tokenizer for exact token-id prompts: the prompt text is space-separated ids, and output ids
 * decode to the same. It lets a benchmark fix prompt lengths and shared prefixes to the token,
 * and serves synthetic models whose vocabulary has no tokenizer.
 */
export function idTokenizer(): Tokenizer {
  const decode = (ids: readonly number[]) => ids.map((i) => ` ${i}`).join('');
  const t = {
    bosId: null,
    eosIds: [] as number[],
    vocabSize: Infinity,
    encode: (text: string) => text.trim().split(/\s+/).filter(Boolean).map(Number),
    encodeChat: () => {
      throw new Error('idTokenizer has no chat template');
    },
    decode,
    streamDecoder: (opts: { context?: readonly number[] } = {}) => new StreamDecoder(decode, opts.context ?? []),
  };
  return t as unknown as Tokenizer;
}

export interface BenchEngine {
  engine: Engine;
  timed: TimedBackend;
  /**
   * Another engine over the same backend, with a fresh scheduler and block table: what a page
   * reload leaves (the device's KV is unreferenced), minus reloading weights and compiling
   * pipelines. Use one engine at a time: engines over one backend share its KV buffers.
   */
  newEngine(extra?: Partial<EngineOptions>): Engine;
  dispose(): void;
}

export interface EngineSpec {
  weights: ModelWeights;
  tokenizer: Tokenizer;
  backend: 'webgpu' | 'cpu';
  numBlocks: number;
  maxBatchTokens?: number;
  name: string;
  /** Per-step timings (see instrument.ts recordPhases). */
  onStep?: EngineOptions['onStep'];
}

/** An Engine over a timing decorator around the chosen backend. */
export async function benchEngine(spec: EngineSpec): Promise<BenchEngine> {
  let inner: ForwardBackend;
  if (spec.backend === 'webgpu') {
    inner = await GpuBackend.create(spec.weights, { blockSize: 16, numBlocks: spec.numBlocks, gpu: dawnGpu() });
  } else {
    inner = new CpuBackend(spec.weights, { blockSize: 16, numBlocks: spec.numBlocks });
  }
  const timed = new TimedBackend(inner);
  let current: Engine;
  const newEngine = (extra: Partial<EngineOptions> = {}) => {
    current = new Engine(timed, spec.tokenizer, {
      modelName: spec.name,
      fingerprint: spec.weights.fingerprint,
      maxBatchTokens: spec.maxBatchTokens ?? 256,
      onStep: spec.onStep,
      ...extra,
    });
    return current;
  };
  const engine = newEngine();
  // The blocks held by whichever engine was built last (the one in use).
  timed.blocksUsed = () => current.scheduler.kv.pool.numUsed;
  return { engine, timed, newEngine, dispose: () => timed.dispose() };
}

export interface RequestResult {
  /** generate() to the first event of the request (its first token), ms. */
  ttftMs: number;
  totalMs: number;
  text: string[];
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** Runs one request to the end and times its first token. */
export function runRequest(engine: Engine, params: Record<string, unknown>): Promise<RequestResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    let first = NaN;
    const text: string[] = [];
    const sink = (events: EngineEvent[]) => {
      if (Number.isNaN(first)) first = performance.now();
      for (const ev of events) {
        if (ev.type === 'delta') text[ev.choice] = (text[ev.choice] ?? '') + ev.text;
        else if (ev.type === 'error') reject(ev.error);
        else if (ev.type === 'done') {
          resolvePromise({
            ttftMs: first - t0,
            totalMs: performance.now() - t0,
            text,
            promptTokens: ev.usage.prompt_tokens,
            cachedTokens: ev.usage.prompt_tokens_details.cached_tokens,
            completionTokens: ev.usage.completion_tokens,
          });
        }
      }
    };
    try {
      engine.generate(params, sink);
    } catch (e) {
      reject(e);
    }
  });
}
