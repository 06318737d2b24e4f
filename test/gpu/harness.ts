import { bindBuffers } from '../../src/gpu/bindGroups.ts';

/** Runs one kernel on given buffers (binding i = buffers[i]) and waits for it. */
export async function dispatch(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[], [x, y, z = 1]: [number, number] | [number, number, number]): Promise<void> {
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindBuffers(device, pipeline, buffers));
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(err.message);
  await device.queue.onSubmittedWorkDone();
}

export function upload(device: GPUDevice, data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>): GPUBuffer {
  const buf = device.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}

export function empty(device: GPUDevice, words: number): GPUBuffer {
  return upload(device, new Float32Array(words));
}

export function rowsUniform(device: GPUDevice, rows: number): GPUBuffer {
  const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, Uint32Array.of(rows));
  return buf;
}

export async function readWords(device: GPUDevice, buf: GPUBuffer, words: number): Promise<ArrayBuffer> {
  const read = device.createBuffer({ size: words * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buf, 0, read, 0, words * 4);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = read.getMappedRange().slice(0);
  read.destroy();
  return out;
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await readWords(device, buf, n));
}

export async function readU32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Uint32Array> {
  return new Uint32Array(await readWords(device, buf, n));
}
