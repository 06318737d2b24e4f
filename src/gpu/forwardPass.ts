import type { ForwardGroups } from './bindGroups.ts';
import { foldedGrid, grid64 } from './grid.ts';
import type { KernelShape, Kernels } from './kernels.ts';

/** Row counts of one step: query rows, and rows whose logits are wanted. */
export interface StepShape {
  rows: number;
  logitRows: number;
  /** Rows of the short chunks, first in the step (StepInputs.shortRows; 0: not told). */
  shortRows?: number;
}

/** What follows the LM head: nothing (logits are read), or sampling, argmax included (ids are read). */
export type ForwardTail = 'logits' | 'sample';

/**
 * Records a whole forward pass, every layer, into one compute pass: embedding, per layer
 * [rmsnorm, qkv, rope, kv_write, paged attention, o_proj (+residual), rmsnorm, gate|up,
 * silu*up, down (+residual)], then the logit rows' final norm and LM head, and optionally
 * sampling (`tail`). The 'gpu' kernel set replaces rope, kv_write and paged attention by
 * rope_kv_write and flash-decoding (attention_partial, plus attention_reduce when a row has
 * several work items: src/gpu/attention.ts), and on GPUs takes RMSNorm into the q|k|v and
 * gate|up products and SwiGLU into the down product (src/gpu/linearSteps.ts LinearKernels.fuses):
 * 6 dispatches a layer (7 where a row's attention has several work items; 9 on CPU adapters),
 * against the fallback set's 10. WebGPU orders the dispatches of a pass, so each sees the previous one's writes.
 */
export function encodeForward(
  pass: GPUComputePassEncoder,
  k: Kernels,
  g: ForwardGroups,
  shape: KernelShape,
  step: StepShape,
  maxPerDim: number,
  tail: ForwardTail,
  beforeSample?: (pass: GPUComputePassEncoder) => void,
): void {
  const { rows, logitRows } = step;
  const short = step.shortRows ?? 0;
  const run = (p: GPUComputePipeline, group: GPUBindGroup, [x, y]: [number, number]) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
  };
  const perRow = (n: number) => foldedGrid(Math.ceil(n / (64 / shape.rowLanes)), maxPerDim);
  const elems = (n: number) => grid64(n, maxPerDim);

  for (const part of g.embed.parts) run(part.pipeline, part.group, elems(rows * shape.hiddenSize));
  for (const [l, lg] of g.layers.entries()) {
    if (!g.fused) run(k.rmsnorm, lg.inputNorm, perRow(rows));
    lg.qkv.encode(pass, rows, short);
    if (g.flash && k.ropeKvWrite && lg.ropeKvWrite) {
      // The 'gpu' set: RoPE and the KV write in one dispatch, then flash-decoding (1 or 2 dispatches).
      run(k.ropeKvWrite, lg.ropeKvWrite, elems((rows * (shape.numHeads + 2 * shape.numKvHeads) * shape.headDim) / 2));
      g.flash.encode(pass, l, maxPerDim);
    } else {
      run(k.rope, lg.rope, elems((rows * (shape.numHeads + shape.numKvHeads) * shape.headDim) / 2));
      run(k.kvWrite, lg.kvWrite, elems(rows * shape.numKvHeads * shape.headDim));
      run(k.attention, lg.attention, elems(rows * shape.numHeads));
    }
    lg.oProj.encode(pass, rows, short);
    if (!g.fused) run(k.rmsnorm, lg.postNorm, perRow(rows));
    lg.gateUp.encode(pass, rows, short);
    if (!g.fused) run(k.siluMul, lg.siluMul, elems(rows * shape.intermediateSize));
    lg.down.encode(pass, rows, short);
  }
  run(k.gather, g.gatherLast, elems(logitRows * shape.hiddenSize));
  run(k.rmsnorm, g.finalNorm, perRow(logitRows));
  g.lmHead.encode(pass, logitRows);
  if (tail === 'sample') beforeSample?.(pass); // penalties, biases, masks (src/gpu/logitAdjust.ts)
  if (tail === 'sample') run(k.sample, g.sample, perRow(logitRows));
}
