/**
 * The roofline section's measuring tools: the adapter's streaming read bandwidth
 * (wgsl/bandwidth_probe.wgsl), and a profile of one forward pass, dispatch by dispatch (its
 * kernel, workgroups, bytes bound, and GPU time where the device has timestamp queries).
 */
import probeSrc from '../../wgsl/bandwidth_probe.wgsl?raw';
import type { GpuDevice } from '../gpu/device.ts';

export interface Bandwidth {
  bytesPerSecond: number;
  bytes: number;
  /** 'timestamp queries' or 'wall clock (submit to done)', which includes the submission's overhead. */
  method: string;
}

/** Reads a `bytes`-sized buffer `reps` times; the best run's rate. */
export async function probeBandwidth(gpu: GpuDevice, bytes: number, reps = 5): Promise<Bandwidth> {
  const device = gpu.device;
  bytes = Math.min(bytes, gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize) & ~255;
  const src = gpu.storage(bytes, 'bandwidth probe source');
  const workgroups = Math.min(65535, Math.max(1, Math.floor(bytes / 16 / 256 / 16)));
  const sums = gpu.storage(workgroups * 256 * 4, 'bandwidth probe sums');
  const dims = gpu.uniform('bandwidth probe dims');
  device.queue.writeBuffer(dims, 0, Uint32Array.of(bytes / 16));
  const module = device.createShaderModule({ label: 'bandwidth_probe', code: probeSrc });
  const pipeline = device.createComputePipeline({ label: 'bandwidth_probe', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [dims, src, sums].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const timer = gpu.features.timestampQuery ? new PassTimer(device, 1) : null;
  let best = Infinity;
  for (let r = 0; r < reps + 1; r++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass(timer ? { timestampWrites: timer.writes(0) } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(workgroups);
    pass.end();
    timer?.resolve(encoder);
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const wall = (performance.now() - t0) / 1000;
    const seconds = timer ? (await timer.read())[0] : wall;
    if (r > 0) best = Math.min(best, seconds); // the first run warms up
  }
  src.destroy();
  sums.destroy();
  dims.destroy();
  timer?.destroy();
  return { bytesPerSecond: bytes / best, bytes, method: timer ? 'timestamp queries' : 'wall clock (submit to done)' };
}

/** Timestamp pairs, one per pass; read back in seconds. */
export class PassTimer {
  private readonly set: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly readBack: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    readonly passes: number,
  ) {
    this.set = device.createQuerySet({ type: 'timestamp', count: passes * 2 });
    this.resolved = device.createBuffer({ size: passes * 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readBack = device.createBuffer({ size: passes * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  writes(i: number): GPUComputePassTimestampWrites {
    return { querySet: this.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    encoder.resolveQuerySet(this.set, 0, this.passes * 2, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, this.readBack, 0, this.passes * 16);
  }

  async read(): Promise<number[]> {
    await this.readBack.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(this.readBack.getMappedRange().slice(0));
    this.readBack.unmap();
    return Array.from({ length: this.passes }, (_, i) => Number(t[2 * i + 1] - t[2 * i]) / 1e9);
  }

  destroy(): void {
    this.set.destroy();
    this.resolved.destroy();
    this.readBack.destroy();
  }
}

export interface DispatchRecord {
  kernel: string;
  workgroups: number;
  /** Bytes of the buffers bound (an upper bound on what it touches: a KV pool is bound whole). */
  boundBytes: number;
  /** GPU seconds (timestamp queries), or null without them. */
  seconds: number | null;
  /** The dispatch itself, for replaying it alone (wallClockTimes). */
  replay?: { pipeline: GPUComputePipeline; group: GPUBindGroup; grid: [number, number, number] };
  /** Wall-clock seconds of the dispatch submitted alone, best of a few (wallClockTimes); submission overhead included. */
  wallSeconds?: number;
}

/** Sizes of the buffers each bind group holds, recorded as they are created (installBindGroupSizes). */
const boundBytes = new WeakMap<GPUBindGroup, number>();

/**
 * Wraps GPUDevice.prototype.createBindGroup so that every bind group made afterwards knows the
 * bytes it binds (the profile's per-dispatch bytes). Call before the backend is created.
 */
export function installBindGroupSizes(): void {
  const proto = (globalThis as { GPUDevice?: { prototype: GPUDevice } }).GPUDevice?.prototype;
  if (!proto || (proto as { folioSized?: boolean }).folioSized) return;
  const original = proto.createBindGroup;
  proto.createBindGroup = function (this: GPUDevice, d: GPUBindGroupDescriptor): GPUBindGroup {
    const g = original.call(this, d);
    let n = 0;
    for (const e of d.entries) {
      const r = e.resource as GPUBufferBinding;
      if (r && 'buffer' in r) n += r.size ?? r.buffer.size - (r.offset ?? 0);
    }
    boundBytes.set(g, n);
    return g;
  };
  (proto as { folioSized?: boolean }).folioSized = true;
}

/**
 * A stand-in for a compute pass that runs each dispatch in a pass of its own (with timestamps
 * when `timer` is given) and records it. Only what the forward pass calls is implemented.
 */
export class ProfilingPass {
  readonly records: DispatchRecord[] = [];
  private pipeline: GPUComputePipeline | null = null;
  private group: GPUBindGroup | null = null;

  constructor(
    private readonly encoder: GPUCommandEncoder,
    private readonly timer: PassTimer | null,
  ) {}

  setPipeline(p: GPUComputePipeline): void {
    this.pipeline = p;
  }

  setBindGroup(_index: number, g: GPUBindGroup): void {
    this.group = g;
  }

  dispatchWorkgroups(x: number, y = 1, z = 1): void {
    const i = this.records.length;
    if (this.timer && i >= this.timer.passes) throw new RangeError(`more than ${this.timer.passes} dispatches to time`);
    const pass = this.encoder.beginComputePass(this.timer ? { timestampWrites: this.timer.writes(i) } : {});
    pass.setPipeline(this.pipeline!);
    pass.setBindGroup(0, this.group!);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.records.push({
      kernel: this.pipeline!.label.split(' ')[0] || 'unlabelled',
      workgroups: x * y * z,
      boundBytes: boundBytes.get(this.group!) ?? 0,
      seconds: null,
      replay: { pipeline: this.pipeline!, group: this.group!, grid: [x, y, z] },
    });
  }

  end(): void {}
}

/**
 * Times each recorded dispatch by wall clock, submitted alone (best of `reps`, after one warm-up):
 * where the device has no timestamp queries (SwiftShader), where a step's time goes. The buffers
 * hold whatever the last step left, which costs the same; a dispatch that accumulates changes
 * values, not time.
 */
export async function wallClockTimes(device: GPUDevice, records: DispatchRecord[], reps = 3): Promise<void> {
  for (const r of records) {
    if (!r.replay) continue;
    let best = Infinity;
    for (let i = 0; i <= reps; i++) {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(r.replay.pipeline);
      pass.setBindGroup(0, r.replay.group);
      pass.dispatchWorkgroups(...r.replay.grid);
      pass.end();
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      if (i > 0) best = Math.min(best, (performance.now() - t0) / 1000);
    }
    r.wallSeconds = best;
  }
}
