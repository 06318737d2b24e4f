// Quantize on load: a safetensors model's f32 weights packed into one of ggml's formats, tensor by
// tensor, with the rule llama.cpp's quantizer follows. Pure: f32 tensors and a config in, maps out.
import { InvalidParamsError } from '../errors.ts';
import { expectedTensors, type ModelConfig } from '../model/config.ts';
import type { PackedTensor } from '../model/weights.ts';
import { quantize } from './codec.ts';
import { FORMATS, type WeightFormat } from './formats.ts';

/** The weight formats a safetensors model can be loaded into (`createEngine({ weights })`, `--weights`). */
export const WEIGHT_OPTIONS = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k'] as const;
export type WeightsOption = (typeof WEIGHT_OPTIONS)[number];

const TARGET: Record<Exclude<WeightsOption, 'f32'>, WeightFormat> = { f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0', q4_k: 'Q4_K' };

/**
 * llama.cpp's fallback for a row length the format's block does not divide (llama-quant.cpp):
 * a K-quant goes to the legacy format of about the same bits (Q4_K -> Q5_0, Q5_K -> Q5_1,
 * Q6_K -> Q8_0), and whatever still does not divide the row is F16 (stories260K's 172-wide
 * ffn_down in its Q4_0/Q8_0 GGUF files).
 */
export function formatForRow(target: WeightFormat, cols: number): WeightFormat {
  let f = target;
  if (cols % FORMATS[f].blockElems !== 0) {
    const kFallback: Partial<Record<WeightFormat, WeightFormat>> = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };
    f = kFallback[f] ?? 'F16';
  }
  return cols % FORMATS[f].blockElems === 0 ? f : 'F16';
}

/** The option as given (from a CLI flag, a worker message): one of WEIGHT_OPTIONS, or an InvalidParamsError. */
export function weightsOption(v: unknown): WeightsOption {
  if (typeof v === 'string' && (WEIGHT_OPTIONS as readonly string[]).includes(v)) return v as WeightsOption;
  throw new InvalidParamsError('weights', `must be one of ${WEIGHT_OPTIONS.join(', ')}, got ${JSON.stringify(v)}`);
}

/** What createEngine, loadEngine and the CLI take: a format, or 'auto' (see pickWeights). */
export type WeightsChoice = WeightsOption | 'auto';

export function weightsChoice(v: unknown): WeightsChoice {
  if (v === 'auto') return 'auto';
  if (typeof v === 'string' && (WEIGHT_OPTIONS as readonly string[]).includes(v)) return v as WeightsOption;
  throw new InvalidParamsError('weights', `must be one of ${WEIGHT_OPTIONS.join(', ')} or auto, got ${JSON.stringify(v)}`);
}

/** The format a `weights` option packs into; null for 'f32' (weights stay f32 arrays). */
export function targetFormat(option: WeightsOption): WeightFormat | null {
  return option === 'f32' ? null : TARGET[option];
}

/**
 * Every 2-D weight the config implies, quantized row-major (rows of `cols` values, each a whole
 * number of blocks) into `format` or its per-row-length fallback; 1-D tensors (norms, biases)
 * stay f32 in `tensors`. The returned `tensors` holds only what was not packed, so each 2-D
 * weight is in exactly one map (ModelWeights' rule).
 */
export function quantizeModel(
  tensors: ReadonlyMap<string, Float32Array>,
  config: ModelConfig,
  format: WeightFormat,
): { tensors: Map<string, Float32Array>; packed: Map<string, PackedTensor> } {
  const shapes = expectedTensors(config);
  const rest = new Map<string, Float32Array>();
  const packed = new Map<string, PackedTensor>();
  for (const [name, values] of tensors) {
    const shape = shapes.get(name);
    if (!shape || shape.length !== 2) {
      rest.set(name, values);
      continue;
    }
    const [rows, cols] = shape;
    const f = formatForRow(format, cols);
    packed.set(name, { format: f, bytes: quantize(f, values), rows, cols });
  }
  return { tensors: rest, packed };
}

/** What `'auto'` weighs: the adapter's per-binding and per-buffer limits, and a budget for all weights. */
export interface AutoLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** Device bytes all weights may take; AUTO_BUDGET_BYTES by default. */
  budgetBytes?: number;
}

/**
 * 1 GiB of weights: WebGPU exposes no adapter memory size, so 'auto' keeps weights within what a
 * phone or an 8 GB laptop's browser can hold (a 1B model at Q4_0 is about 0.7 GB).
 */
export const AUTO_BUDGET_BYTES = 2 ** 30;

/** Device bytes of every tensor when loaded with `option` (1-D ones f32). */
export function weightBytes(config: ModelConfig, option: WeightsOption): number[] {
  const target = targetFormat(option);
  return [...expectedTensors(config).values()].map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!target || shape.length !== 2) return 4 * n;
    const f = formatForRow(target, shape[1]);
    return (n / FORMATS[f].blockElems) * FORMATS[f].blockBytes;
  });
}

/**
 * `weights: 'auto'`: the widest format (f32, f16, q8_0, q4_0 in that order) whose largest tensor fits
 * one binding and one buffer and whose weights fit the budget; q4_0 when none does (the backend
 * then names what it lacks). null limits (the CPU backend, which computes in f32): f32.
 */
export function pickWeights(config: ModelConfig, limits: AutoLimits | null): { option: WeightsOption; reason: string } {
  if (!limits) return { option: 'f32', reason: 'the CPU backend computes in f32' };
  const perTensor = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const budget = limits.budgetBytes ?? AUTO_BUDGET_BYTES;
  for (const option of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
    const bytes = weightBytes(config, option);
    const total = bytes.reduce((a, b) => a + b, 0);
    const largest = Math.max(...bytes);
    if (largest <= perTensor && total <= budget) {
      return { option, reason: `${mb(total)} of weights within a ${mb(budget)} budget, the largest tensor ${mb(largest)} within the adapter's ${mb(perTensor)} per buffer` };
    }
  }
  return { option: 'q4_0', reason: `no format fits a ${mb(budget)} budget and ${mb(perTensor)} per buffer; q4_0 is the smallest` };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
