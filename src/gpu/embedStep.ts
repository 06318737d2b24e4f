import embedPackedSrc from '../../wgsl/embed_packed.wgsl?raw';
import type { WeightFormat } from '../quant/formats.ts';
import { withFormat } from './formatKernels.ts';
import type { EmbedWeights } from './gpuWeights.ts';

/** The embedding lookup of a forward pass: a pipeline and its bind group. */
export interface EmbedStep {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
}

/** wgsl/embed_packed.wgsl for one format and row width; bindings: dims, weights, index, out. */
export function embedPackedPipeline(device: GPUDevice, format: WeightFormat, width: number): GPUComputePipeline {
  const label = `embed_packed ${format} ${width}`;
  const module = device.createShaderModule({ label, code: withFormat(format, embedPackedSrc) });
  return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants: { WIDTH: width } } });
}

/**
 * The lookup for this embedding: f32 rows through gather_rows (`gather`), packed rows through
 * embed_packed (`packed`, made for its format). Both take (dims, table, ids, out) and one
 * invocation per output element.
 */
export function embedStep(device: GPUDevice, e: EmbedWeights, gather: GPUComputePipeline, packed: GPUComputePipeline | null, io: { rows: GPUBuffer; ids: GPUBuffer; out: GPUBuffer }): EmbedStep {
  const pipeline = e.kind === 'f32' ? gather : packed;
  if (!pipeline) throw new Error('a packed embedding needs its embed_packed pipeline');
  // Built here rather than with bindGroups.ts's bindBuffers, which imports this module.
  const entries = [io.rows, e.buffer, io.ids, io.out].map((buffer, binding) => ({ binding, resource: { buffer } }));
  return { pipeline, group: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }) };
}
