import embedPackedSrc from '../../wgsl/embed_packed.wgsl?raw';
import gatherRowsSrc from '../../wgsl/gather_rows.wgsl?raw';
import type { WeightFormat } from '../quant/formats.ts';
import { withFormat } from './formatKernels.ts';
import type { EmbedChunk, EmbedWeights } from './gpuWeights.ts';

/** One dispatch of the embedding lookup: a pipeline and its bind group. */
export interface EmbedPart {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
}

/** The embedding lookup of a forward pass: one part per chunk of the table, dispatched alike. */
export interface EmbedStep {
  parts: EmbedPart[];
}

/** Which vocabulary rows a lookup pipeline holds (the defaults: the whole table). */
type Slice = { row0: number; rows: number } | null;

const sliceConstants = (s: Slice): Record<string, number> => (s ? { ROW0: s.row0, TABLE_ROWS: s.rows } : {});

/** wgsl/embed_packed.wgsl for one format and row width; bindings: dims, weights, index, out. */
export function embedPackedPipeline(device: GPUDevice, format: WeightFormat, width: number, slice: Slice = null): GPUComputePipeline {
  const label = `embed_packed ${format} ${width}${slice ? ` rows ${slice.row0}+${slice.rows}` : ''}`;
  const module = device.createShaderModule({ label, code: withFormat(format, embedPackedSrc) });
  return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants: { WIDTH: width, ...sliceConstants(slice) } } });
}

function gatherSlicePipeline(device: GPUDevice, width: number, slice: Slice): GPUComputePipeline {
  const label = `gather_rows ${width}${slice ? ` rows ${slice.row0}+${slice.rows}` : ''}`;
  const module = device.createShaderModule({ label, code: gatherRowsSrc });
  return device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main', constants: { WIDTH: width, ...sliceConstants(slice) } } });
}

/** A split table's pipelines, made once per chunk (bind groups are rebuilt when step buffers grow). */
const slicePipelines = new WeakMap<EmbedChunk, GPUComputePipeline>();

/**
 * The lookup for this embedding: f32 rows through gather_rows (`gather`), packed rows through
 * embed_packed (`packed`, made for its format). Both take (dims, table, ids, out) and one
 * invocation per output element. A table in one chunk uses the given pipelines; a split one gets a
 * pipeline per chunk, each writing the output rows whose ids fall in its slice of the vocabulary
 * (every id falls in exactly one, so each output element is written once).
 */
export function embedStep(
  device: GPUDevice,
  e: EmbedWeights,
  gather: GPUComputePipeline,
  packed: GPUComputePipeline | null,
  io: { rows: GPUBuffer; ids: GPUBuffer; out: GPUBuffer },
): EmbedStep {
  const split = e.chunks.length > 1;
  const pipelineFor = (ch: EmbedChunk): GPUComputePipeline => {
    if (!split) {
      if (e.kind === 'f32') return gather;
      if (!packed) throw new Error('a packed embedding needs its embed_packed pipeline');
      return packed;
    }
    let p = slicePipelines.get(ch);
    if (!p) {
      const slice = { row0: ch.row0, rows: ch.rows };
      p = e.kind === 'f32' ? gatherSlicePipeline(device, e.width, slice) : embedPackedPipeline(device, e.format, e.width, slice);
      slicePipelines.set(ch, p);
    }
    return p;
  };
  return {
    parts: e.chunks.map((ch) => {
      const pipeline = pipelineFor(ch);
      // Built here rather than with bindGroups.ts's bindBuffers, which imports this module.
      const entries = [io.rows, ch.buffer, io.ids, io.out].map((buffer, binding) => ({ binding, resource: { buffer } }));
      return { pipeline, group: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }) };
    }),
  };
}
