import type { ModelConfig } from '../model/config.ts';
import type { GpuDevice } from './device.ts';

/** How many rows, block-table entries and logit rows the step buffers hold. */
export interface StepCapacity {
  rows: number;
  tableLen: number;
  logitRows: number;
}

function roundUp(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(16, n)));
}

/**
 * Per-step inputs and activations, sized for a capacity that grows (to powers of two) when a
 * batch outgrows it; bind groups are rebuilt only then, not every step.
 */
export class StepBuffers {
  readonly capacity: StepCapacity;
  private readonly owned: GPUBuffer[] = [];
  /** Inputs uploaded each step. */
  readonly tokens: GPUBuffer;
  readonly rowMeta: GPUBuffer;
  readonly rope: GPUBuffer;
  readonly tables: GPUBuffer;
  readonly logitRows: GPUBuffer;
  /** Activations: residual stream, normed input, q|k|v, attention output, gate|up, silu(gate)*up. */
  readonly x: GPUBuffer;
  readonly xb: GPUBuffer;
  readonly qkv: GPUBuffer;
  readonly att: GPUBuffer;
  readonly gateUp: GPUBuffer;
  readonly h: GPUBuffer;
  /** Residual rows picked for the LM head, then normed in place into `xb`'s first rows. */
  readonly last: GPUBuffer;
  readonly logits: GPUBuffer;
  /** Per logit row: temperature, top_k, top_p, u (wgsl/sample.wgsl's params). */
  readonly sampleParams: GPUBuffer;
  readonly ids: GPUBuffer;
  /** Read-back copies. */
  readonly logitsRead: GPUBuffer;
  readonly idsRead: GPUBuffer;

  constructor(gpu: GpuDevice, c: ModelConfig, need: StepCapacity) {
    const cap: StepCapacity = { rows: roundUp(need.rows), tableLen: roundUp(need.tableLen), logitRows: roundUp(need.logitRows) };
    this.capacity = cap;
    // Every buffer here holds 4-byte words (f32 or u32).
    const f32 = (n: number, what: string) => this.own(gpu.storage(n * 4, what));
    const q = c.numHeads * c.headDim;
    const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    this.tokens = f32(cap.rows, 'token ids');
    this.rowMeta = f32(cap.rows * 4, 'row positions and slots');
    this.rope = f32(cap.rows * c.headDim, 'RoPE cos/sin');
    this.tables = f32(cap.tableLen, 'block tables');
    this.logitRows = f32(cap.logitRows, 'logit rows');
    this.x = f32(cap.rows * c.hiddenSize, 'residual stream');
    this.xb = f32(cap.rows * c.hiddenSize, 'normed hidden states');
    this.qkv = f32(cap.rows * qkv, 'q, k, v');
    this.att = f32(cap.rows * q, 'attention output');
    this.gateUp = f32(cap.rows * 2 * c.intermediateSize, 'gate and up');
    this.h = f32(cap.rows * c.intermediateSize, 'MLP hidden');
    this.last = f32(cap.logitRows * c.hiddenSize, 'last hidden states');
    this.logits = f32(cap.logitRows * c.vocabSize, 'logits');
    this.sampleParams = f32(cap.logitRows * 4, 'sampling parameters');
    this.ids = f32(cap.logitRows, 'token ids out');
    const readBuffer = (bytes: number, label: string) =>
      this.own(gpu.device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
    this.logitsRead = readBuffer(this.logits.size, 'logits read-back');
    this.idsRead = readBuffer(this.ids.size, 'ids read-back');
  }

  fits(need: StepCapacity): boolean {
    const c = this.capacity;
    return need.rows <= c.rows && need.tableLen <= c.tableLen && need.logitRows <= c.logitRows;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}
