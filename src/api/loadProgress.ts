import type { LoadEvent, LoadStep } from '../engine/WorkerApi.ts';
import { mib } from '../errors.ts';

/** Weight files, which are nearly all of a model's bytes; the rest (JSON) is not counted. */
const WEIGHTS = /\.(safetensors|gguf)$/;
/** Hugging Face's shard names say how many shards there are: model-00001-of-00003.safetensors. */
const SHARD = /-\d+-of-(\d+)\.[a-z]+$/;
/** The share of the bar the weights fill; building the engine (uploads to the GPU) is the rest. */
const WEIGHTS_SHARE = 0.9;

/**
 * Turns a load's file and byte events into one fraction, `progress` from 0 to 1, and a line of
 * `text` (as WebLLM's progress reports have): the weights fill 90% by bytes, shard by shard,
 * and the last 10% is building the engine; 1 only once the engine is ready (`ready()`). The
 * fraction never goes back, even when a shard count learnt late shrinks the share of a file.
 */
export class OverallProgress {
  /** Per weight file: the fraction of it in hand. */
  private readonly files = new Map<string, number>();
  private shards = 1;
  private last = 0;

  update(step: LoadStep): LoadEvent {
    if (step.warning && !step.file) return this.event(step, `Warning: ${step.warning}`);
    if (!WEIGHTS.test(step.file)) return this.event(step, step.bytesLoaded === undefined ? `Loading ${step.file}` : this.bytesText(step));
    const shards = Number(SHARD.exec(step.file)?.[1] ?? 0);
    // The loader's own events count weight files exactly (filesTotal), byte events do not.
    const fromLoader = step.bytesLoaded === undefined;
    this.shards = Math.max(this.shards, shards, fromLoader ? step.filesTotal : 0);
    if (fromLoader) this.files.set(step.file, 1);
    else if (step.bytesTotal) this.files.set(step.file, Math.max(this.files.get(step.file) ?? 0, Math.min(1, step.bytesLoaded! / step.bytesTotal)));
    const done = fromLoader && step.filesDone >= step.filesTotal;
    return this.event(step, done ? 'Weights loaded; building the engine' : fromLoader ? `Loaded ${step.file}${this.ofShards(step.filesDone)}` : this.bytesText(step));
  }

  /** The last event: the engine is ready. */
  ready(text: string): LoadEvent {
    this.last = 1;
    return { file: '', filesDone: this.files.size, filesTotal: this.shards, progress: 1, text };
  }

  private bytesText(step: LoadStep): string {
    const verb = step.fromCache ? 'Reading' : 'Downloading';
    const where = step.fromCache ? " from this browser's cache" : '';
    const size = step.bytesTotal ? `: ${mib(step.bytesLoaded ?? 0)} of ${mib(step.bytesTotal)} MiB` : '';
    return `${verb} ${step.file}${where}${size}`;
  }

  private ofShards(done: number): string {
    return this.shards > 1 ? ` (${done} of ${this.shards})` : '';
  }

  private event(step: LoadStep, text: string): LoadEvent {
    let inHand = 0;
    for (const f of this.files.values()) inHand += f;
    const now = Math.min(1, inHand / this.shards) * WEIGHTS_SHARE;
    this.last = Math.max(this.last, now);
    return { ...step, progress: this.last, text };
  }
}
