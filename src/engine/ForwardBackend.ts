import type { ForwardBatch } from '../kv/batch.ts';
import type { KeyShift } from '../kv/BlockTable.ts';
import type { ModelConfig } from '../model/config.ts';
import type { LogitAdjustments, TokenMask } from '../sampling/logitAdjustments.ts';

/**
 * The id forwardGreedy and forwardSample return for a chunk whose logits hold NaN or Inf, so
 * that a step that reads back only ids still learns of it (the engine ends that request with a
 * ComputeError). No vocabulary reaches it.
 */
export const NON_FINITE_ID = 0xffffffff;

/** One chunk's draw on the device: its truncation and temperature, and a uniform u in [0, 1) from the request's Rng. */
export interface DeviceSampleRow {
  temperature: number;
  /** 0 keeps every token. */
  topK: number;
  /** 1 keeps the whole distribution. */
  topP: number;
  u: number;
  /** Penalties and biases applied before the draw (wgsl/logit_adjust.wgsl); absent: none. */
  adjustments?: LogitAdjustments | null;
  /** The tokens the draw may pick (grammar, bans); absent: all. Never all-zero. */
  mask?: TokenMask | null;
}

/**
 * A device that runs the model over a paged KV cache: the CPU reference and WebGPU both
 * implement it, so the scheduler and the tests treat them alike.
 */
export interface ForwardBackend {
  readonly name: 'cpu' | 'webgpu';
  readonly config: ModelConfig;
  readonly blockSize: number;
  readonly numBlocks: number;
  /**
   * Runs one step. Returns, per chunk, its logits: [1, vocab] for logits 'last',
   * [tokens, vocab] for 'all', row-major.
   */
  forward(batch: ForwardBatch): Promise<Float32Array[]>;
  /**
   * Optional greedy step: the argmax of each chunk's last logits, computed on the device so
   * that a step reads back one id per chunk instead of whole logits; NON_FINITE_ID for a chunk
   * whose logits are not all finite.
   */
  forwardGreedy?(batch: ForwardBatch): Promise<number[]>;
  /**
   * Optional sampled step: one token per chunk drawn on the device from its last logits with
   * that chunk's row (src/sampling/sample.ts sampleWithU's definition; temperature 0 is the
   * argmax), so that a step reads back one id per chunk; NON_FINITE_ID for a chunk whose
   * logits are not all finite. Penalties, biases and masks are applied on the device (the row's
   * adjustments and mask); no repetition penalty, no logprobs: steps that need those read logits.
   */
  forwardSample?(batch: ForwardBatch, rows: readonly DeviceSampleRow[]): Promise<number[]>;
  /**
   * Copies whole blocks (all layers, K and V): the copy of copy-on-write. `pairs` is a set as
   * src/kv/copyPlan.ts defines it; a plan that is not is refused with a ComputeError.
   */
  copyBlocks(pairs: ReadonlyArray<readonly [src: number, dst: number]>): Promise<void>;
  /**
   * Reads whole blocks back: per block, per layer, K then V, each [kv heads, block size,
   * head dim] f32. The copy reflects every step submitted before the call.
   */
  readBlocks?(ids: readonly number[]): Promise<Float32Array>;
  /**
   * Context shift: rotates every key of each block (all layers) by its delta in positions, as
   * RoPE at the new position would have; values untouched. Blocks appear at most once.
   */
  shiftKeys?(shifts: readonly KeyShift[]): Promise<void>;
  /**
   * PagedEviction's block scores: per block, the mean over layers, KV heads and its tokens of
   * ||V|| / ||K|| (a key's norm is RoPE-invariant). Reflects every step submitted before.
   */
  scoreBlocks?(ids: readonly number[]): Promise<Float32Array>;
  /** Writes whole blocks in readBlocks' layout (restoring persisted prefix KV). */
  writeBlocks?(ids: readonly number[], data: Float32Array): Promise<void>;
  dispose(): void;
}
