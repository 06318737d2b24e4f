import { ComputeError, DeviceLostError, FolioError, mib, ModelTooLargeError, WebGpuUnavailableError } from '../errors.ts';

/** The adapter limits Folio plans its buffers with (the ones it asks the device for). */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

/**
 * The optional WebGPU features the device was created with: requested wherever the adapter
 * has them, so kernels may choose a faster path; every kernel keeps a path without them.
 */
export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

const OPTIONAL_FEATURES: ReadonlyArray<[keyof GpuFeatures, GPUFeatureName]> = [
  ['shaderF16', 'shader-f16'],
  ['subgroups', 'subgroups' as GPUFeatureName],
  ['timestampQuery', 'timestamp-query'],
];


function browserGpu(): GPU | undefined {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

/**
 * A WebGPU device with the adapter's largest buffer limits, that turns every way of not
 * getting one into a WebGpuUnavailableError a user can act on, and remembers a loss so that
 * later calls fail with DeviceLostError instead of hanging or returning zeros.
 */
export class GpuDevice {
  readonly device: GPUDevice;
  readonly limits: GpuLimits;
  /**
   * A CPU implementation (SwiftShader, or any fallback adapter): workgroup barriers cost tens
   * of microseconds there, so row reductions use one invocation per row.
   */
  readonly cpuAdapter: boolean;
  readonly features: GpuFeatures;
  /** The adapter's vendor and architecture, as far as it says (for reports). */
  readonly adapterName: string;
  private lostMessage: string | null = null;
  private destroyed = false;
  /** Bytes of every storage buffer asked for so far (what a load that ran out of memory needed). */
  private requested = 0;
  /** Resolves once the loss is recorded (lostMessage set). */
  private readonly lost: Promise<void>;

  private constructor(device: GPUDevice, limits: GpuLimits, cpuAdapter: boolean, features: GpuFeatures, adapterName: string) {
    this.device = device;
    this.limits = limits;
    this.cpuAdapter = cpuAdapter;
    this.features = features;
    this.adapterName = adapterName;
    this.lost = device.lost.then((info) => {
      this.lostMessage = this.destroyed
        ? 'the WebGPU backend was disposed'
        : `the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}); reload the model to continue`;
    });
  }

  /**
   * What a failed GPU call should throw. A lost device makes pending calls fail in their own
   * words (mapAsync rejects with a DOMException) before, or after, `device.lost` resolves: so an
   * untyped failure waits up to `graceMs` for the loss and becomes a DeviceLostError if it comes.
   * A RangeError is the backend's own refusal of a batch (src/gpu/stepInputs.ts, the grids), never
   * a loss: it is thrown at once, like anything else.
   */
  async failure(e: unknown, graceMs = 2000): Promise<never> {
    if (e instanceof DeviceLostError) throw e;
    if (this.lostMessage === null && !this.destroyed && !(e instanceof FolioError) && !(e instanceof RangeError)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.lost, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    this.assertAlive();
    throw e;
  }

  /** `gpu` is navigator.gpu in browsers and workers; tests pass Dawn's. */
  static async request(gpu: GPU | undefined = browserGpu()): Promise<GpuDevice> {
    if (!gpu) {
      throw new WebGpuUnavailableError(
        'WebGPU is not available in this browser (navigator.gpu is missing). Use a recent Chrome, Edge or Safari, ' +
          'serve the page over https or from localhost, or run the model on the CPU instead.',
      );
    }
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (e) {
      throw new WebGpuUnavailableError(`WebGPU is present but asking it for a GPU failed: ${String(e)}`);
    }
    if (!adapter) {
      throw new WebGpuUnavailableError(
        'WebGPU is present but found no usable GPU adapter (the GPU may be disabled or blocklisted by the browser). ' +
          'Run the model on the CPU instead.',
      );
    }
    const a = adapter.limits;
    const limits: GpuLimits = {
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxBufferSize: a.maxBufferSize,
      maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
    };
    // Fakes and old browsers may lack `features`: then none are asked for.
    const has = (name: GPUFeatureName) => adapter.features?.has(name) === true;
    const wanted = OPTIONAL_FEATURES.filter(([, name]) => has(name));
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: wanted.map(([, name]) => name),
        requiredLimits: {
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        },
      });
    } catch (e) {
      throw new WebGpuUnavailableError(`the GPU adapter refused to create a device: ${String(e)}`);
    }
    // `info` is missing in browsers that predate it; then assume a real GPU.
    const info = (adapter as { info?: GPUAdapterInfo }).info;
    const cpuAdapter = info?.isFallbackAdapter === true || info?.architecture === 'swiftshader';
    const features = Object.fromEntries(OPTIONAL_FEATURES.map(([key, name]) => [key, device.features?.has(name) === true])) as unknown as GpuFeatures;
    const adapterName = [info?.vendor, info?.architecture, info?.description].filter((x) => x).join(' ') || 'unknown adapter';
    return new GpuDevice(device, limits, cpuAdapter, features, adapterName);
  }

  /** Throws DeviceLostError once the device is gone (lost, or destroyed by dispose). */
  assertAlive(): void {
    if (this.lostMessage !== null) throw new DeviceLostError(this.lostMessage);
    if (this.destroyed) throw new DeviceLostError('the WebGPU backend was disposed');
  }

  /** Refuses, in words, a storage buffer larger than this GPU can bind. */
  checkBufferSize(bytes: number, what: string): void {
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > max) {
      throw new WebGpuUnavailableError(
        `the model needs a buffer of ${mib(bytes)} MiB (${what}) but this GPU allows ${mib(max)} MiB per buffer`,
      );
    }
  }

  /** A storage buffer, size-checked, rounded up to 16 bytes (vec4 views and empty batches). */
  storage(bytes: number, what: string, extraUsage = 0): GPUBuffer {
    this.checkBufferSize(bytes, what);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    this.requested += size;
    try {
      return this.device.createBuffer({
        label: what,
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage,
      });
    } catch (e) {
      // createBuffer throws (a RangeError) only where it fails to map memory at creation: out of memory.
      if (e instanceof RangeError) throw new ModelTooLargeError(`the buffer for ${what}`, size, null, `the GPU could not allocate it (${e.message})`);
      throw e;
    }
  }

  /**
   * Runs a load's allocations (`record`) in an out-of-memory and a validation scope. Memory the
   * device lacks is the model's size, not a missing WebGPU: a ModelTooLargeError naming the bytes
   * the load asked for (the device does not say how many it has). The caller destroys the device
   * on any failure, which frees every buffer already made: no half-loaded state stays behind.
   */
  async allocating(what: string, record: () => void): Promise<void> {
    const before = this.requested;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let thrown: unknown = null;
    try {
      record();
    } catch (e) {
      thrown = e;
    }
    // Both scopes are popped whatever happened, so later calls stay balanced.
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (oom) throw new ModelTooLargeError(what, this.requested - before, null, `the GPU ran out of memory allocating it (${oom.message})`);
    if (thrown !== null) throw thrown;
    if (validation) throw new ComputeError('internal', `WebGPU rejected a command (a bug in Folio's GPU backend): ${validation.message}`);
  }

  /** A 16-byte uniform buffer holding one u32 (the `dims.rows` of the kernels). */
  uniform(what: string): GPUBuffer {
    return this.device.createBuffer({ label: what, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
  }
}
