/**
 * Workgroup counts for a 1-D problem folded into x and y: WebGPU caps each dimension (65535
 * by default), and a long prefill times a wide layer passes that. Kernels rebuild the linear
 * id as (wg.y * num_workgroups.x + wg.x) and skip ids past the end.
 */
export function foldedGrid(workgroups: number, maxPerDim: number): [number, number] {
  if (workgroups <= maxPerDim) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / maxPerDim);
  const x = Math.ceil(workgroups / y);
  if (y > maxPerDim) throw new RangeError(`${workgroups} workgroups do not fit a ${maxPerDim} x ${maxPerDim} grid`);
  return [x, y];
}

/** Workgroups of 64 invocations covering `invocations` ids. */
export function grid64(invocations: number, maxPerDim: number): [number, number] {
  return foldedGrid(Math.ceil(invocations / 64), maxPerDim);
}
