import type { GpuWeights } from './gpuWeights.ts';
import type { Kernels } from './kernels.ts';
import type { KvPools } from './kvPools.ts';
import type { StepBuffers } from './stepBuffers.ts';

/** The uniforms holding this step's row counts (`dims.rows` of the kernels). */
export interface StepUniforms {
  rows: GPUBuffer;
  logitRows: GPUBuffer;
}

export interface LayerGroups {
  inputNorm: GPUBindGroup;
  qkv: GPUBindGroup;
  rope: GPUBindGroup;
  kvWrite: GPUBindGroup;
  attention: GPUBindGroup;
  oProj: GPUBindGroup;
  postNorm: GPUBindGroup;
  gateUp: GPUBindGroup;
  siluMul: GPUBindGroup;
  down: GPUBindGroup;
}

export interface ForwardGroups {
  embed: GPUBindGroup;
  layers: LayerGroups[];
  gatherLast: GPUBindGroup;
  finalNorm: GPUBindGroup;
  lmHead: GPUBindGroup;
  sample: GPUBindGroup;
}

/** A bind group whose binding i is buffers[i], in the order each kernel's header lists. */
export function bindBuffers(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Every bind group of a forward pass; built once per step-buffer capacity. */
export function buildForwardGroups(device: GPUDevice, k: Kernels, w: GpuWeights, pools: KvPools, b: StepBuffers, u: StepUniforms): ForwardGroups {
  const bind = (p: GPUComputePipeline, ...buffers: GPUBuffer[]) => bindBuffers(device, p, buffers);
  const layers = w.layers.map((lw, l): LayerGroups => ({
    inputNorm: bind(k.rmsnorm, u.rows, b.x, lw.inputNorm, b.xb),
    qkv: bind(k.qkv, u.rows, b.xb, lw.qkv, lw.qkvBias ?? w.noBias, b.qkv),
    rope: bind(k.rope, u.rows, b.rope, b.qkv),
    kvWrite: bind(k.kvWrite, u.rows, b.rowMeta, b.qkv, pools.k[l], pools.v[l]),
    attention: bind(k.attention, u.rows, b.rowMeta, b.tables, b.qkv, pools.k[l], pools.v[l], b.att),
    oProj: bind(k.oProj, u.rows, b.att, lw.oProj, w.noBias, b.x),
    postNorm: bind(k.rmsnorm, u.rows, b.x, lw.postNorm, b.xb),
    gateUp: bind(k.gateUp, u.rows, b.xb, lw.gateUp, w.noBias, b.gateUp),
    siluMul: bind(k.siluMul, u.rows, b.gateUp, b.h),
    down: bind(k.down, u.rows, b.h, lw.down, w.noBias, b.x),
  }));
  return {
    embed: bind(k.gather, u.rows, w.embed, b.tokens, b.x),
    layers,
    gatherLast: bind(k.gather, u.logitRows, b.x, b.logitRows, b.last),
    finalNorm: bind(k.rmsnorm, u.logitRows, b.last, w.finalNorm, b.xb),
    lmHead: bind(k.lmHead, u.logitRows, b.xb, w.lmHead, w.noBias, b.logits),
    sample: bind(k.sample, u.logitRows, b.logits, b.sampleParams, b.ids),
  };
}
