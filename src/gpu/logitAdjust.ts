import logitAdjustSrc from '../../wgsl/logit_adjust.wgsl?raw';
import type { DeviceSampleRow } from '../engine/ForwardBackend.ts';
import { maskWords } from '../sampling/logitAdjustments.ts';
import type { GpuDevice } from './device.ts';
import { grid64 } from './grid.ts';

const NONE = 0xffffffff;

/** One step's work for wgsl/logit_adjust.wgsl, in its layout (see the kernel's header). */
export interface AdjustWork {
  work: Uint32Array<ArrayBuffer>;
  masks: Uint32Array<ArrayBuffer>;
  invocations: number;
}

/**
 * Packs the rows' adjustments and masks; null when no row has either (the step then runs the
 * sample kernel alone). Rows are logit rows: row i's logits start at i * vocab.
 */
export function packAdjustWork(rows: readonly DeviceSampleRow[], vocab: number): AdjustWork | null {
  const words = maskWords(vocab);
  const maskRowOf = new Int32Array(rows.length).fill(-1);
  let masked = 0;
  let adjusted = 0;
  rows.forEach((r, i) => {
    if (r.mask) {
      if (r.mask.length !== words) throw new RangeError(`a token mask for a vocabulary of ${vocab} needs ${words} words, got ${r.mask.length}`);
      maskRowOf[i] = masked++;
    }
    adjusted += r.adjustments?.tokens.length ?? 0;
  });
  if (masked === 0 && adjusted === 0) return null;
  const work = new Uint32Array(4 * (1 + adjusted + masked));
  const f = new Float32Array(work.buffer);
  const masks = new Uint32Array(Math.max(4, masked * words));
  work[0] = adjusted;
  work[1] = masked;
  let e = 1;
  rows.forEach((r, i) => {
    const a = r.adjustments;
    if (a) {
      for (let k = 0; k < a.tokens.length; k++, e++) {
        if (a.tokens[k] >= vocab) throw new RangeError(`adjusted token ${a.tokens[k]} is outside the vocabulary of ${vocab}`);
        work[4 * e] = i * vocab + a.tokens[k];
        f[4 * e + 1] = a.sub[k];
        f[4 * e + 2] = a.add[k];
        work[4 * e + 3] = maskRowOf[i] < 0 ? NONE : maskRowOf[i];
      }
    }
  });
  rows.forEach((r, i) => {
    if (!r.mask) return;
    work[4 * (e + maskRowOf[i])] = i;
    masks.set(r.mask, maskRowOf[i] * words);
  });
  return { work, masks, invocations: adjusted + masked * words };
}

export function logitAdjustPipeline(device: GPUDevice, vocab: number): GPUComputePipeline {
  const module = device.createShaderModule({ label: 'logit_adjust', code: logitAdjustSrc });
  return device.createComputePipeline({ label: 'logit_adjust', layout: 'auto', compute: { module, entryPoint: 'main', constants: { VOCAB: vocab } } });
}

/**
 * wgsl/logit_adjust.wgsl on a backend: its pipeline, and work and mask buffers that grow (to
 * powers of two) when a step outgrows them; the bind group is rebuilt only then or when the
 * logits buffer is replaced.
 */
export class LogitAdjuster {
  private readonly pipeline: GPUComputePipeline;
  private work: GPUBuffer | null = null;
  private masks: GPUBuffer | null = null;
  private group: GPUBindGroup | null = null;
  private boundLogits: GPUBuffer | null = null;

  constructor(
    private readonly gpu: GpuDevice,
    private readonly vocab: number,
  ) {
    this.pipeline = logitAdjustPipeline(gpu.device, vocab);
  }

  /** Uploads `w` and returns what records the dispatch (to run after the LM head, before sampling). */
  prepare(logits: GPUBuffer, w: AdjustWork): (pass: GPUComputePassEncoder) => void {
    const grow = (b: GPUBuffer | null, bytes: number, what: string) => {
      if (b && b.size >= bytes) return b;
      b?.destroy();
      this.group = null;
      return this.gpu.storage(2 ** Math.ceil(Math.log2(Math.max(64, bytes))), what);
    };
    this.work = grow(this.work, w.work.byteLength, 'logit adjustments');
    this.masks = grow(this.masks, w.masks.byteLength, 'token masks');
    if (this.boundLogits !== logits) this.group = null;
    this.group ??= this.gpu.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [logits, this.work, this.masks].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    this.boundLogits = logits;
    const q = this.gpu.device.queue;
    q.writeBuffer(this.work, 0, w.work);
    q.writeBuffer(this.masks, 0, w.masks);
    const [x, y] = grid64(w.invocations, this.gpu.limits.maxComputeWorkgroupsPerDimension);
    const group = this.group;
    return (pass) => {
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y);
    };
  }

  destroy(): void {
    this.work?.destroy();
    this.masks?.destroy();
  }
}
