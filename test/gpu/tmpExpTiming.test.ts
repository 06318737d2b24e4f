import { it } from 'vitest';
import { GpuBackend } from '../../src/gpu/GpuBackend.ts';
import { dawnGpu } from '../../src/gpu/dawn.ts';
import { encodeForward } from '../../src/gpu/forwardPass.ts';
import { installBindGroupSizes, ProfilingPass, wallClockTimes } from '../../src/bench/rooflineProbe.ts';
import { randomWeights, tinyConfig } from './randomModel.ts';

it('timing', async () => {
  installBindGroupSizes();
  const weights = randomWeights(tinyConfig, 21);
  const gpu = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 48, gpu: dawnGpu(), kernels: 'gpu', sharedPrefix: true, gpuShapes: true });
  const chunks = Array.from({ length: 8 }, (_, i) => ({ tokens: [5], startPos: 300, blockTable: [...Array.from({ length: 18 }, (_, j) => j), 20 + i] }));
  await gpu.forward({ chunks, logits: 'last' });
  let t = performance.now();
  await gpu.forward({ chunks, logits: 'last' });
  console.log('R step', (performance.now() - t).toFixed(1));
  const inner = gpu as any;
  const encoder = gpu.gpu.device.createCommandEncoder();
  const pass = new ProfilingPass(encoder, null);
  encodeForward(pass as any, inner.kernels, inner.groups, inner.shape, { rows: 8, logitRows: 8 }, 65535, 'logits');
  await wallClockTimes(gpu.gpu.device, pass.records);
  for (const r of pass.records) console.log('R', r.replay!.pipeline.label, r.workgroups, (r.wallSeconds! * 1000).toFixed(2));
  const tot = pass.records.reduce((a, r) => a + r.wallSeconds!, 0);
  console.log('R total', (tot * 1000).toFixed(1), pass.records.length);
  gpu.dispose();
});
