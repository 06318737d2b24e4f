import { type EmbedStep, embedStep } from './embedStep.ts';
import type { GpuWeights } from './gpuWeights.ts';
import type { Kernels } from './kernels.ts';
import type { LinearKernels, LinearStep } from './linearSteps.ts';
import type { KvPools } from './kvPools.ts';
import type { FlashAttention } from './attention.ts';
import type { StepBuffers } from './stepBuffers.ts';

/** The uniforms holding this step's row counts (`dims.rows` of the kernels). */
export interface StepUniforms {
  rows: GPUBuffer;
  logitRows: GPUBuffer;
  /** (rows, first) of the short chunks' rows and of the others, for products that split them (LinearIo.split). */
  shortRows: GPUBuffer;
  longRows: GPUBuffer;
}

export interface LayerGroups {
  inputNorm: GPUBindGroup;
  qkv: LinearStep;
  rope: GPUBindGroup;
  kvWrite: GPUBindGroup;
  attention: GPUBindGroup;
  /** The 'gpu' set's fused RoPE + KV write (null in the 'fallback' set). */
  ropeKvWrite: GPUBindGroup | null;
  oProj: LinearStep;
  postNorm: GPUBindGroup;
  gateUp: LinearStep;
  siluMul: GPUBindGroup;
  down: LinearStep;
}

export interface ForwardGroups {
  embed: EmbedStep;
  layers: LayerGroups[];
  gatherLast: GPUBindGroup;
  finalNorm: GPUBindGroup;
  lmHead: LinearStep;
  sample: GPUBindGroup;
  /** The 'gpu' set's attention (flash-decoding, its own bind groups); null: the fallback kernels. */
  flash: FlashAttention | null;
  /** The products take RMSNorm (q|k|v, gate|up) and SwiGLU (down) into their input: no rmsnorm or silu_mul dispatch in a layer. */
  fused: boolean;
}

/** A bind group whose binding i is buffers[i], in the order each kernel's header lists. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Every bind group of a forward pass; built once per step-buffer capacity. */
export function buildForwardGroups(device: GPUDevice, k: Kernels, lin: LinearKernels, w: GpuWeights, pools: KvPools, b: StepBuffers, u: StepUniforms, flash: FlashAttention | null = null): ForwardGroups {
  const bind = (p: GPUComputePipeline, ...buffers: GPUBuffer[]) => bindBuffers(device, p, buffers);
  // The layer products (not the LM head, whose rows are the logit rows) may split a step's rows.
  const split = { short: u.shortRows, long: u.longRows };
  const product = (weights: GpuWeights['lmHead'], rows: GPUBuffer, x: GPUBuffer, y: GPUBuffer, accumulate: boolean, bias: GPUBuffer | null = null) =>
    lin.step(weights, { rows, x, y, bias, accumulate, split: rows === u.rows ? split : undefined }, w.noBias);
  // The 'gpu' set: q|k|v and gate|up normalize the residual stream themselves, down applies SwiGLU
  // to gate|up itself (no rmsnorm and no silu_mul dispatches in a layer).
  const fused = lin.fuses;
  const eps = k.rmsNormEps;
  const normed = (weights: GpuWeights['lmHead'], norm: GPUBuffer, y: GPUBuffer, bias: GPUBuffer | null = null) =>
    fused ? lin.step(weights, { rows: u.rows, x: b.x, y, bias, accumulate: false, norm: { weight: norm, eps }, split }, w.noBias) : product(weights, u.rows, b.xb, y, false, bias);
  const layers = w.layers.map((lw, l): LayerGroups => ({
    inputNorm: bind(k.rmsnorm, u.rows, b.x, lw.inputNorm, b.xb),
    qkv: normed(lw.qkv, lw.inputNorm, b.qkv, lw.qkvBias),
    rope: bind(k.rope, u.rows, b.rope, b.qkv),
    kvWrite: bind(k.kvWrite, u.rows, b.rowMeta, b.qkv, pools.k[l], pools.v[l]),
    attention: bind(k.attention, u.rows, b.rowMeta, b.tables, b.qkv, pools.k[l], pools.v[l], b.att),
    ropeKvWrite: k.ropeKvWrite ? bind(k.ropeKvWrite, u.rows, b.rowMeta, b.rope, b.qkv, pools.k[l], pools.v[l]) : null,
    oProj: product(lw.oProj, u.rows, b.att, b.x, true),
    postNorm: bind(k.rmsnorm, u.rows, b.x, lw.postNorm, b.xb),
    gateUp: normed(lw.gateUp, lw.postNorm, b.gateUp),
    siluMul: bind(k.siluMul, u.rows, b.gateUp, b.h),
    down: fused ? lin.step(lw.down, { rows: u.rows, x: b.gateUp, y: b.x, bias: null, accumulate: true, xSilu: true, split }, w.noBias) : product(lw.down, u.rows, b.h, b.x, true),
  }));
  return {
    embed: embedStep(device, w.embed, k.gather, k.embedPacked, { rows: u.rows, ids: b.tokens, out: b.x }),
    layers,
    gatherLast: bind(k.gather, u.logitRows, b.x, b.logitRows, b.last),
    finalNorm: bind(k.rmsnorm, u.logitRows, b.last, w.finalNorm, b.xb),
    lmHead: product(w.lmHead, u.logitRows, b.xb, b.logits, false),
    sample: bind(k.sample, u.logitRows, b.logits, b.sampleParams, b.ids),
    flash,
    fused,
  };
}
