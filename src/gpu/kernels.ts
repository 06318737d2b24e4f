import copyBlocksSrc from '../../wgsl/copy_blocks.wgsl?raw';
import gatherRowsSrc from '../../wgsl/gather_rows.wgsl?raw';
import kvWriteSrc from '../../wgsl/kv_write.wgsl?raw';
import matmulSrc from '../../wgsl/matmul.wgsl?raw';
import pagedAttentionSrc from '../../wgsl/paged_attention.wgsl?raw';
import rmsnormSrc from '../../wgsl/rmsnorm.wgsl?raw';
import ropeSrc from '../../wgsl/rope.wgsl?raw';
import sampleSrc from '../../wgsl/sample.wgsl?raw';
import siluMulSrc from '../../wgsl/silu_mul.wgsl?raw';
import type { ModelConfig } from '../model/config.ts';
import type { WeightFormat } from '../quant/formats.ts';
import { embedPackedPipeline } from './embedStep.ts';
import { ropeKvWritePipeline } from './attention.ts';
import type { KernelSet } from './kernelSet.ts';

/** Shapes the kernels are specialised for (override constants). */
export interface KernelShape {
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  blockSize: number;
  /** Invocations per row in the row reductions (rmsnorm, sample): 1 on CPU adapters, 64 on GPUs. */
  rowLanes: number;
}

export interface MatmulSpec {
  k: number;
  n: number;
  accumulate: boolean;
  bias: boolean;
}

/**
 * Every compute pipeline of one model at one block size but the linear products' (those depend
 * on each weight's format: src/gpu/linearSteps.ts).
 */
export interface Kernels {
  /** Embedding lookup (f32 embeddings) and logit-row selection: both gather rows of width hidden. */
  gather: GPUComputePipeline;
  /** The embedding lookup of a packed embedding (null for an f32 one). */
  embedPacked: GPUComputePipeline | null;
  rmsnorm: GPUComputePipeline;
  rope: GPUComputePipeline;
  kvWrite: GPUComputePipeline;
  attention: GPUComputePipeline;
  siluMul: GPUComputePipeline;
  sample: GPUComputePipeline;
  copyBlocks: GPUComputePipeline;
  /** The 'gpu' set's RoPE fused into the KV write (src/gpu/attention.ts); null in the 'fallback' set. */
  ropeKvWrite: GPUComputePipeline | null;
  /** RMSNorm's epsilon (an override of rmsnorm; a uniform of the 'gpu' set's products that fuse the norm). */
  rmsNormEps: number;
}

export function kernelShape(c: ModelConfig, blockSize: number, rowLanes = 64): KernelShape {
  return {
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    rmsNormEps: c.rmsNormEps,
    blockSize,
    rowLanes,
  };
}

type Constants = Record<string, number>;

function pipeline(device: GPUDevice, label: string, code: string, constants: Constants): GPUComputePipeline {
  const module = device.createShaderModule({ label, code });
  return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants } });
}

export function gatherPipeline(device: GPUDevice, width: number): GPUComputePipeline {
  return pipeline(device, 'gather_rows', gatherRowsSrc, { WIDTH: width });
}

function checkLanes(rowLanes: number): void {
  if (![1, 2, 4, 8, 16, 32, 64].includes(rowLanes)) throw new RangeError(`row lanes must be a power of two up to 64, got ${rowLanes}`);
}

export function rmsnormPipeline(device: GPUDevice, hidden: number, eps: number, rowLanes: number): GPUComputePipeline {
  checkLanes(rowLanes);
  return pipeline(device, 'rmsnorm', rmsnormSrc, { HIDDEN: hidden, EPS: eps, ROW_LANES: rowLanes });
}

export function matmulPipeline(device: GPUDevice, s: MatmulSpec): GPUComputePipeline {
  if (s.k % 4 !== 0) throw new RangeError(`matmul needs an input width that is a multiple of 4, got ${s.k}`);
  return pipeline(device, `matmul ${s.k}->${s.n}`, matmulSrc, {
    K: s.k,
    N: s.n,
    ACCUMULATE: s.accumulate ? 1 : 0,
    HAS_BIAS: s.bias ? 1 : 0,
  });
}

function heads(s: KernelShape): Constants {
  return { NUM_HEADS: s.numHeads, NUM_KV_HEADS: s.numKvHeads };
}

export function ropePipeline(device: GPUDevice, s: KernelShape): GPUComputePipeline {
  return pipeline(device, 'rope', ropeSrc, { ...heads(s), HEAD_DIM: s.headDim });
}

export function kvWritePipeline(device: GPUDevice, s: KernelShape): GPUComputePipeline {
  return pipeline(device, 'kv_write', kvWriteSrc, { ...heads(s), HEAD_DIM: s.headDim, BLOCK_SIZE: s.blockSize });
}

export function attentionPipeline(device: GPUDevice, s: KernelShape): GPUComputePipeline {
  if (s.headDim % 4 !== 0) throw new RangeError(`paged attention needs a head dimension that is a multiple of 4, got ${s.headDim}`);
  // Private arrays need a const size, so the head dimension travels as a one-line preamble.
  const preamble = `const HEAD_DIM: u32 = ${s.headDim}u;\n`;
  return pipeline(device, 'paged_attention', preamble + pagedAttentionSrc, {
    ...heads(s),
    BLOCK_SIZE: s.blockSize,
    SCALE: 1 / Math.sqrt(s.headDim),
  });
}

export function siluMulPipeline(device: GPUDevice, ffn: number): GPUComputePipeline {
  return pipeline(device, 'silu_mul', siluMulSrc, { FFN: ffn });
}

export function samplePipeline(device: GPUDevice, vocab: number, rowLanes: number): GPUComputePipeline {
  checkLanes(rowLanes);
  return pipeline(device, 'sample', sampleSrc, { VOCAB: vocab, ROW_LANES: rowLanes });
}

export function copyBlocksPipeline(device: GPUDevice, blockElems: number): GPUComputePipeline {
  return pipeline(device, 'copy_blocks', copyBlocksSrc, { BLOCK_ELEMS: blockElems });
}

/**
 * Compiles every pipeline the forward pass uses but the linear products; `embedFormat` names a
 * packed embedding's format. The 'gpu' set's attention lives in src/gpu/attention.ts.
 */
export function createKernels(device: GPUDevice, s: KernelShape, embedFormat: WeightFormat | null, set: KernelSet = 'fallback'): Kernels {
  const h = s.hiddenSize;
  const f = s.intermediateSize;
  return {
    gather: gatherPipeline(device, h),
    embedPacked: embedFormat ? embedPackedPipeline(device, embedFormat, h) : null,
    rmsnorm: rmsnormPipeline(device, h, s.rmsNormEps, s.rowLanes),
    rope: ropePipeline(device, s),
    kvWrite: kvWritePipeline(device, s),
    attention: attentionPipeline(device, s),
    siluMul: siluMulPipeline(device, f),
    sample: samplePipeline(device, s.vocabSize, s.rowLanes),
    copyBlocks: copyBlocksPipeline(device, s.numKvHeads * s.blockSize * s.headDim),
    ropeKvWrite: set === 'gpu' ? ropeKvWritePipeline(device, s) : null,
    rmsNormEps: s.rmsNormEps,
  };
}
