/**
 * The roofline section (issue 12): how close each kernel set's decode step comes to the
 * adapter's memory-bandwidth limit.
 *
 * 1. The adapter, its features and limits, printed first.
 * 2. Its streaming read bandwidth, from wgsl/bandwidth_probe.wgsl (timestamp queries where the
 *    device has them, else wall clock from submit to done).
 * 3. Per decode configuration of the SmolLM2-135M shape (random f32 weights; the KV cache left at
 *    zeros, which costs the same) and kernel set: the bytes a step reads (weights + KV, as the
 *    kernels issue them: the fallback attention reads K/V once per query head, the gpu set once
 *    per work item and kv head) over that bandwidth, against the measured step time.
 * 4. For 16 streams sharing a 1,024-token prefix: the KV bytes per step with and without
 *    shared-prefix attention (goal: at most 1/8), on this adapter's plan and on a GPU's.
 * 5. One B = 1 step and one B = 16 step, dispatch by dispatch, per kernel set: kernel, workgroups,
 *    bytes bound, and GPU time where timestamp queries exist; without them (SwiftShader) each
 *    dispatch's wall clock, submitted alone (submission overhead included: compare kernels).
 */
import { ropeInvFreq } from '../cpu/rope.ts';
import { flashShape } from '../gpu/attention.ts';
import { planAttention } from '../gpu/attentionPlan.ts';
import type { ForwardGroups } from '../gpu/bindGroups.ts';
import { dawnGpu } from '../gpu/dawn.ts';
import { GpuDevice } from '../gpu/device.ts';
import { encodeForward } from '../gpu/forwardPass.ts';
import { GpuBackend } from '../gpu/GpuBackend.ts';
import type { KernelSet } from '../gpu/kernelSet.ts';
import { kernelShape, type KernelShape, type Kernels } from '../gpu/kernels.ts';
import { packStep } from '../gpu/stepInputs.ts';
import type { SequenceChunk } from '../kv/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { buildWeights, SMOLLM2_135M } from '../model/synthetic.ts';
import { type DispatchRecord, installBindGroupSizes, PassTimer, probeBandwidth, ProfilingPass, wallClockTimes } from './rooflineProbe.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';
import { fmt } from './stats.ts';

const BLOCK = 16;
const PREFIX = 1024;
const STREAMS = 16;
const MiB = 2 ** 20;

/** Random f32 weights, cheaply (an LCG: values do not change bytes or time). */
function weightsOf(config: ModelConfig) {
  let state = 12345;
  return buildWeights(
    config,
    (name, shape, n) => {
      const a = new Float32Array(n);
      const norm = shape.length === 1 && name.endsWith('norm.weight');
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        a[i] = (norm ? 1 : 0) + ((state / 4294967296) - 0.5) * 0.04;
      }
      return a;
    },
    'roofline-random',
  );
}

interface Config {
  name: string;
  chunks: SequenceChunk[];
}

/** B = 1 at `keys` keys, or 16 streams over one shared prefix, each with 16 keys of its own. */
function configs(quick: boolean): Config[] {
  const seq = (keys: number, table: number[]): SequenceChunk => ({ tokens: [7], startPos: keys - 1, blockTable: table });
  const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
  const shared = range(0, PREFIX / BLOCK);
  const out: Config[] = [{ name: 'B=1, 16 keys', chunks: [seq(16, [0])] }];
  if (!quick) out.push({ name: 'B=1, 1,024 keys', chunks: [seq(1024, range(0, 64))] });
  out.push({
    name: `B=${STREAMS} sharing ${PREFIX} keys (+16 each)`,
    chunks: range(0, STREAMS).map((s) => seq(PREFIX + 16, [...shared, 64 + s])),
  });
  return out;
}

interface Row {
  config: string;
  set: string;
  stepMs: number;
  weightBytes: number;
  kvBytes: number;
  rooflineMs: number;
  fraction: number;
}

/** KV bytes a step issues: per key, K and V of every kv head of every layer (the fallback: of every query head). */
function kvBytes(c: ModelConfig, keys: number, perQueryHead: boolean): number {
  return keys * (perQueryHead ? c.numHeads : c.numKvHeads) * c.headDim * 4 * 2 * c.numLayers;
}

async function timeSteps(backend: GpuBackend, chunks: SequenceChunk[], steps: number): Promise<number> {
  const batch = { chunks, logits: 'last' as const };
  await backend.forwardGreedy(batch); // compiles what the step needs
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await backend.forwardGreedy(batch);
  return (performance.now() - t0) / steps;
}

interface Internals {
  kernels: Kernels;
  groups: ForwardGroups;
  shape: KernelShape;
}

/**
 * Re-records the backend's last step (`rows` decode rows) one dispatch per pass; GPU times where
 * timestamps exist, else each dispatch's wall clock alone.
 */
async function profileStep(backend: GpuBackend, gpu: GpuDevice, rows: number): Promise<DispatchRecord[]> {
  const inner = backend as unknown as Internals;
  const device = gpu.device;
  const timer = gpu.features.timestampQuery ? new PassTimer(device, 2048) : null;
  const encoder = device.createCommandEncoder();
  const pass = new ProfilingPass(encoder, timer);
  const shortRows = rows <= 8 ? rows : 0; // decode rows are short chunks (src/gpu/stepInputs.ts)
  encodeForward(pass as unknown as GPUComputePassEncoder, inner.kernels, inner.groups, inner.shape, { rows, logitRows: rows, shortRows }, gpu.limits.maxComputeWorkgroupsPerDimension, 'logits');
  timer?.resolve(encoder);
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  if (timer) {
    const seconds = await timer.read();
    pass.records.forEach((r, i) => (r.seconds = seconds[i]));
    timer.destroy();
  } else {
    await wallClockTimes(device, pass.records);
  }
  return pass.records.map(({ replay: _, ...r }) => r); // the report's JSON holds no GPU objects
}

function summary(records: DispatchRecord[], layers: number): string[] {
  const byKernel = new Map<string, { n: number; wg: number[]; bytes: number; s: number | null; wall: number | null }>();
  for (const r of records) {
    const k = byKernel.get(r.kernel) ?? { n: 0, wg: [], bytes: 0, s: r.seconds === null ? null : 0, wall: r.wallSeconds === undefined ? null : 0 };
    k.n++;
    k.wg.push(r.workgroups);
    k.bytes += r.boundBytes;
    if (k.s !== null && r.seconds !== null) k.s += r.seconds;
    if (k.wall !== null && r.wallSeconds !== undefined) k.wall += r.wallSeconds;
    byKernel.set(r.kernel, k);
  }
  const lines = [
    `${records.length} dispatches (${fmt(records.length / layers)} per layer on average, embedding and LM head included)`,
    '',
    '| kernel | dispatches | workgroups per dispatch | MiB bound, all dispatches | GPU ms, all dispatches | wall ms alone, all dispatches |',
    '|---|---|---|---|---|---|',
  ];
  for (const [k, v] of byKernel) {
    const lo = Math.min(...v.wg);
    const hi = Math.max(...v.wg);
    lines.push(`| ${k} | ${v.n} | ${lo === hi ? lo : `${lo}–${hi}`} | ${fmt(v.bytes / MiB)} | ${v.s === null ? 'n/a' : fmt(v.s * 1000)} | ${v.wall === null ? 'n/a' : fmt(v.wall * 1000)} |`);
  }
  return lines;
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  installBindGroupSizes();
  const probe = await GpuDevice.request(dawnGpu());
  const l = probe.limits;
  const md: string[] = ['## Roofline: decode against the memory-bandwidth limit (issue 12)', ''];
  const features = Object.entries(probe.features).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ');
  md.push(
    `Adapter: ${probe.adapterName}${probe.cpuAdapter ? ' (a CPU adapter: absolute figures are a CPU\'s, compare ratios)' : ''}.`,
    `Features: ${features}. Limits: maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}, maxBufferSize ${l.maxBufferSize}, ` +
      `maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize}, maxComputeWorkgroupsPerDimension ${l.maxComputeWorkgroupsPerDimension}.`,
  );
  if (!probe.features.timestampQuery) md.push('', 'This adapter has no timestamp queries: per-kernel GPU times are not available; step times are wall clock.');
  ctx.log('roofline: bandwidth probe');
  const bw = await probeBandwidth(probe, (ctx.quick ? 64 : 512) * MiB);
  const gbps = bw.bytesPerSecond / 1e9;
  md.push('', `Streaming read bandwidth: **${fmt(gbps)} GB/s** (${fmt(bw.bytes / MiB)} MiB, ${bw.method}).`);
  probe.destroy();
  const data: Record<string, unknown> = { adapter: probe.adapterName, features: probe.features, limits: l, bandwidthGBps: gbps, bandwidthMethod: bw.method };
  if (!ctx.smollm) return { markdown: md.join('\n'), data, skipped: ['roofline: the SmolLM2-shaped decode (--no-smollm)'] };

  const config = SMOLLM2_135M;
  const weights = weightsOf(config);
  const rows: Row[] = [];
  const profiles: Record<string, { config: string; records: DispatchRecord[] }> = {};
  const sharing: Record<string, { on: number; off: number }> = {};
  const sets: Array<{ label: string; kernels: KernelSet; sharedPrefix?: boolean }> = [
    { label: 'fallback', kernels: 'fallback' },
    { label: 'gpu', kernels: 'gpu', sharedPrefix: true },
    // --quick: the off figure comes from the plan alone (the sharing lines below), not a run.
    ...(ctx.quick ? [] : [{ label: 'gpu, shared prefix off', kernels: 'gpu' as const, sharedPrefix: false }]),
  ];
  for (const s of sets) {
    ctx.log(`roofline: ${s.label} kernels`);
    const backend = await GpuBackend.create(weights, { blockSize: BLOCK, numBlocks: 64 + STREAMS + 8, gpu: dawnGpu(), kernels: s.kernels, sharedPrefix: s.sharedPrefix });
    try {
      for (const c of configs(ctx.quick)) {
        if (s.sharedPrefix === false && c.chunks.length === 1) continue; // identical to the gpu row
        ctx.log(`roofline: ${s.label}, ${c.name}`);
        const stepMs = await timeSteps(backend, c.chunks, ctx.quick ? 1 : 5);
        const plan = backend.flash?.last;
        const attended = c.chunks.reduce((n, ch) => n + ch.startPos + 1, 0);
        const kv = plan ? kvBytes(config, plan.keysRead, false) : kvBytes(config, attended, true);
        const weightBytes = backend.weightLayout.bytesPerToken;
        const rooflineMs = ((weightBytes + kv) / bw.bytesPerSecond) * 1000;
        rows.push({ config: c.name, set: s.label, stepMs, weightBytes, kvBytes: kv, rooflineMs, fraction: rooflineMs / stepMs });
        if (plan && s.sharedPrefix && c.chunks.length > 1) sharing['this adapter'] = { on: kvBytes(config, plan.keysRead, false), off: kvBytes(config, plan.keysAttended, false) };
      }
      if (s.sharedPrefix !== false) {
        for (const c of configs(true)) {
          await backend.forwardGreedy({ chunks: c.chunks, logits: 'last' });
          profiles[`${s.label}, ${c.name}`] = { config: c.name, records: await profileStep(backend, backend.gpu, c.chunks.length) };
        }
      }
    } finally {
      backend.dispose();
    }
  }
  // The same step planned as a GPU adapter (32 KiB of workgroup memory) plans it.
  const shared = configs(true)[1];
  const step = packStep({ chunks: shared.chunks, logits: 'last' }, config, { blockSize: BLOCK, numBlocks: 64 + STREAMS + 8 }, ropeInvFreq(config), 'last');
  const shape = kernelShape(config, BLOCK);
  const gpuPlan = planAttention(step.rowMeta, step.tables, step.chunkRows, { blockSize: BLOCK, splitKeys: 256, maxQueries: flashShape(shape, 32768).maxQueries, sharedPrefix: true });
  sharing['a GPU adapter'] = { on: kvBytes(config, gpuPlan.keysRead, false), off: kvBytes(config, gpuPlan.keysAttended, false) };

  md.push(
    '',
    `SmolLM2-135M shape, f32 weights, block size ${BLOCK}; bytes are what the kernels issue per decode step; roofline = bytes / bandwidth.`,
    '',
    '| configuration | kernels | step ms | weight MiB | KV MiB | roofline ms | fraction of roofline |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.config} | ${r.set} | ${fmt(r.stepMs)} | ${fmt(r.weightBytes / MiB)} | ${fmt(r.kvBytes / MiB)} | ${fmt(r.rooflineMs)} | ${(100 * r.fraction).toFixed(1)}% |`),
    '',
    `Gpu set against fallback, step time (same run): ${rows
      .filter((r) => r.set === 'gpu')
      .map((r) => `${r.config}: ${fmt(r.stepMs / rows.find((f) => f.set === 'fallback' && f.config === r.config)!.stepMs)}x`)
      .join('; ')}.`,
    '',
    `KV bytes per step, ${STREAMS} streams sharing a ${PREFIX}-token prefix (+16 own keys each), shared-prefix attention on / off:`,
    ...Object.entries(sharing).map(([k, v]) => `- ${k}: ${fmt(v.on / MiB)} / ${fmt(v.off / MiB)} MiB = **${fmt(v.on / v.off)}** (goal ≤ 0.125)`),
  );
  for (const [label, { records }] of Object.entries(profiles)) {
    md.push('', `### One decode step, ${label}, dispatch by dispatch`, '', ...summary(records, config.numLayers));
  }
  Object.assign(data, { rows, sharing, profiles, gpuFlashShape: flashShape(shape, 32768) });
  return { markdown: md.join('\n'), data };
}

export const rooflineSection: BenchSection = { name: 'roofline', needsGpu: true, run };
