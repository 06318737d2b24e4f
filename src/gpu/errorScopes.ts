import { ComputeError, WebGpuUnavailableError } from '../errors.ts';

/**
 * Runs `record` (buffer creation, encoding, submission) inside an out-of-memory and a
 * validation error scope, and returns a promise that rejects with what they caught: running
 * out of GPU memory is the user's problem (WebGpuUnavailableError, in words), a validation
 * error is ours (a ComputeError 'internal'). The scopes are popped even when `record` throws, so
 * later calls stay balanced.
 */
export function scoped(device: GPUDevice, record: () => void): Promise<void> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  try {
    record();
  } catch (e) {
    pop(device).catch(() => undefined);
    throw e;
  }
  return pop(device);
}

async function pop(device: GPUDevice): Promise<void> {
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) {
    throw new WebGpuUnavailableError(`the GPU ran out of memory (${oom.message}); try a smaller KV cache budget or a smaller model`);
  }
  if (validation) throw new ComputeError('internal', `WebGPU rejected a command (a bug in Folio's GPU backend): ${validation.message}`);
}
