import type { BatchingResult } from './batching.ts';
import type { AdapterDescription } from './dawn.ts';
import type { HashResult } from './hashing.ts';
import type { ReplayParams, ReplayResult } from './kvReplay.ts';
import type { NSamplingResult } from './nSampling.ts';
import { PREFIX_COLUMNS, type PrefixResult, STORE_NOTE } from './prefix.ts';
import type { SectionResult } from './sections.ts';
import { fmt } from './stats.ts';
import type { Panel } from './svg.ts';
import type { TraceParams, traceSummary } from './trace.ts';

export interface KvReplaySection {
  trace: TraceParams;
  traceStats: ReturnType<typeof traceSummary>;
  seeds: number[];
  /** One entry per context setting: medians over seeds. */
  /** paged: the Scheduler's default admission reserve; pagedNoReserve: admission without one (before issue 14). */
  settings: { params: ReplayParams; paged: ReplayResult; pagedNoReserve: ReplayResult; contiguous: ReplayResult; finishedRatioRange: [number, number] }[];
}

export interface BenchReport {
  startedAt: string;
  runtimeSeconds: number;
  host: { node: string; cpus: number; platform: string; loadAvg: number[] };
  adapter: AdapterDescription | null;
  kvReplay: KvReplaySection | null;
  prefix: PrefixResult[] | null;
  batching: BatchingResult | null;
  nSampling: NSamplingResult | null;
  hashing: HashResult | null;
  /** The sections of src/bench/sections.ts that ran, in order. */
  sections: Array<{ name: string } & SectionResult>;
  /** Dispatches per forward of the SmolLM2-shaped model (from the prefix runs), if measured. */
  skipped: string[];
}

const pct = (x: number) => `${fmt(100 * x)}%`;

/** A replay's allocator, with the paged scheduler's admission reserve. */
function policy(x: ReplayResult): string {
  if (!x.reserve) return x.allocator;
  const { lookaheadSteps, poolFraction, backfill = 0 } = x.reserve;
  if (lookaheadSteps === 0 && poolFraction === 0) return `${x.allocator}, no reserve`;
  return `${x.allocator}, reserve ${lookaheadSteps}-step lookahead${poolFraction > 0 ? ` + ${pct(poolFraction)}` : ''}${backfill > 0 ? `, backfill ${backfill}` : ''}`;
}

export function markdown(r: BenchReport): string {
  const L: string[] = [];
  const a = r.adapter;
  L.push(`# Folio benchmarks, ${r.startedAt}`, '');
  L.push(`- Adapter: ${a ? a.name : 'none (GPU sections skipped)'}${a?.swiftShader ? ' — **SwiftShader, a CPU implementation of WebGPU: absolute GPU numbers mean little; compare the ratios.**' : ''}`);
  L.push(`- Host: Node ${r.host.node}, ${r.host.cpus} CPUs (${r.host.platform}), load average at start ${r.host.loadAvg.map((x) => x.toFixed(2)).join(' ')}; shared machine, so each timing is a median of repeats and every comparison is a ratio within this run.`);
  L.push(`- Runtime: ${fmt(r.runtimeSeconds)} s`, '');

  const kv = r.kvReplay;
  if (kv) {
    const ts = kv.traceStats;
    L.push('## 1. KV utilization and capacity (paged pool vs whole-context reservation)', '');
    L.push(
      `Trace: ${kv.trace.requests} requests queued at step 0 (a saturated server), log-normal lengths — prompt median ${kv.trace.promptMedian}, σ ${kv.trace.promptSigma}; output median ${kv.trace.outputMedian}, σ ${kv.trace.outputSigma}; clipped to [${kv.trace.minLen}, ${kv.trace.maxPrompt}] and [${kv.trace.minLen}, ${kv.trace.maxOutput}] (means ${fmt(ts.promptMean)} / ${fmt(ts.outputMean)}, between ShareGPT's ~161/338 and LMSYS-Chat-1M's ~70/215). Seeds ${kv.seeds.join(', ')}; medians shown. Folio: the real Scheduler + KvCache with a fake forward. Baseline: each admitted sequence reserves a whole context up front. Same memory, ${kv.settings[0].params.maxBatchTokens} tokens per step, ${kv.settings[0].params.steps} steps.`,
      '',
    );
    L.push('| memory (tokens) | context | allocator | slots holding tokens | memory allocated | seqs held mean / peak | finished in ' + kv.settings[0].params.steps + ' steps | preemptions | preemptions / finished | tokens computed / finished |');
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of kv.settings) {
      for (const x of [s.paged, s.pagedNoReserve, s.contiguous]) {
        L.push(
          `| ${s.params.memoryTokens} | ${s.params.contextTokens} | ${policy(x)} | ${pct(x.utilization)} | ${pct(x.occupancy)} | ${fmt(x.seqsMean)} / ${x.seqsPeak} | ${x.finished} | ${x.preemptions} | ${fmt(x.preemptionsPerFinished)} | ${fmt(x.computedTokens / Math.max(1, x.finished))} |`,
        );
      }
      L.push(
        `| | | **paged / contiguous** | **${fmt(s.paged.utilization / s.contiguous.utilization)}x** | | **${fmt(s.paged.seqsMean / s.contiguous.seqsMean)}x** | **${fmt(s.paged.finished / s.contiguous.finished)}x** (seeds: ${fmt(s.finishedRatioRange[0])}–${fmt(s.finishedRatioRange[1])}x) | | | |`,
      );
  }
  L.push(
    '',
    'Admission reserve (src/scheduler/reserve.ts): the paged scheduler admits a request only if the running sequences keep the blocks they will take over the lookahead (one token a step each, the rest of a prompt at once, blocks of sequences reaching maxTokens coming back); while the head of the queue must wait, a later request that keeps that reserve may be admitted past it (backfill), a bounded number of times per head. "No reserve" is the admission before it, in the same run: it fills the pool and preempts the newest sequence whenever a running one needs a block. A preempted sequence is recomputed (its hashed blocks revived from the prefix cache where still there), which the step count does not charge when the token budget is not the limit: the last column shows that work. Medians over seeds.',
    '',
  );
  }

  L.push('## 2. Prefix cache: time to first token, prompt 90% shared with an earlier one', '');
  if (r.prefix) {
    L.push(
      `Engine on WebGPU (Dawn in Node), greedy, max_tokens 1, exact token prompts; cold = a prompt of the same length sharing nothing; warm = the same engine, the shared blocks in its GPU prefix cache; after a reload = a new engine (empty device KV, same backend, so no weight loading or pipeline compiling counted) whose shared blocks are ${STORE_NOTE}: its TTFT includes reading them from the store, checking their SHA-256, and uploading them. The engine has a prefix store in all three columns, as in the app. Medians of repeats.`,
      '',
    );
    L.push(`| model | prompt | shared / cached (warm, after reload) | ${PREFIX_COLUMNS.map((c) => c.title).join(' | ')} | cold / warm | cold / after reload |`);
    L.push(`| --- | --- | --- | ${PREFIX_COLUMNS.map(() => '---').join(' | ')} | --- | --- |`);
    for (const p of r.prefix) {
      const cells = PREFIX_COLUMNS.map((c) => `${fmt(p.medianMs[c.id])} ms`);
      const restored = [...new Set(p.restoredCachedTokens)].join('/');
      L.push(`| ${p.model} | ${p.promptTokens} tokens | ${p.sharedTokens} / ${p.cachedTokens}, ${restored} | ${cells.join(' | ')} | **${fmt(p.speedup)}x** | **${fmt(p.storeSpeedup)}x** |`);
    }
    L.push('', 'Only full 16-token blocks are cached, so 112 of the 115 shared tokens hit; the warm and the reloaded request compute the last 16 tokens. The prompt is kept at 128 tokens so that the SmolLM2-shaped run takes minutes on SwiftShader.');
    for (const p of r.prefix) {
      const ok = p.restoredCachedTokens.every((t) => t === p.cachedTokens && t > 0);
      L.push(
        '',
        `${p.model}, after a reload: blocks stored by the first engine ${[...new Set(p.storedBlocks)].join('/')}, restored by the new one ${[...new Set(p.restoredBlocks)].join('/')}; usage.prompt_tokens_details.cached_tokens ${p.restoredCachedTokens.join(', ')}${ok ? ' (the restored tokens: the path was taken)' : ' — **not all repeats restored the prefix: this column is not what it says**'}; uploading the restored blocks took ${p.uploadMs === null ? 'n/a' : `${fmt(p.uploadMs)} ms`} of it (median).`,
      );
    }
    L.push('');
  } else L.push('Skipped (no WebGPU adapter).', '');

  L.push('## 3. Batching: aggregate decode throughput (stories260K, WebGPU)', '');
  if (r.batching) {
    const b = r.batching;
    L.push(`Greedy, ${b.maxTokens} tokens per stream (EOS ignored), prompts of ${b.promptTokens[0]}–${b.promptTokens[1]} tokens; tok/s over the steps where every stream decodes, engine overhead included; medians of repeats (speed-up: median of per-repeat ratios).`, '');
    L.push('| streams | decode tok/s | speed-up vs 1 | forward-only tok/s | runs (tok/s) |');
    L.push('| --- | --- | --- | --- | --- |');
    for (const row of b.rows) L.push(`| ${row.streams} | ${fmt(row.tokensPerSecond)} | **${fmt(row.speedup)}x** | ${fmt(row.forwardTokensPerSecond)} | ${row.runs.map((x) => fmt(x)).join(', ')} |`);
    L.push('');
  } else L.push('Skipped (no WebGPU adapter).', '');

  L.push('## 4. n=4 sampling: peak KV blocks', '');
  if (r.nSampling) {
    const n = r.nSampling;
    L.push(`${n.promptTokens}-token prompt, ${n.maxTokens} tokens per sequence, temperature 1, block size ${n.blockSize}. With nothing shared, 4 sequences would need ${n.unsharedBlocks} blocks.`, '');
    L.push('| case | peak blocks | vs n=4 | wall time |');
    L.push('| --- | --- | --- | --- |');
    for (const row of n.rows) L.push(`| ${row.label} | ${row.peakBlocks} | ${fmt(row.peakBlocks / n.rows[0].peakBlocks)}x | ${fmt(row.wallMs)} ms |`);
    L.push('', 'Separate requests with the same prompt are admitted one prefill chunk at a time (token budget), so the later ones hit the first one\'s prompt blocks in the prefix cache.', '');
  } else L.push('Skipped (no WebGPU adapter).', '');

  const h = r.hashing;
  if (h) {
    L.push('## 5. Prefix-cache hashing cost', '');
    L.push(`Over a ${h.promptTokens}-token prompt (MurmurHash3 x86_128 per 16-token block, chained): PrefixCache.extend ${fmt(h.extendNsPerToken)} ns/token, lookup on a cold cache ${fmt(h.lookupNsPerToken)} ns/token, hashBlock alone ${fmt(h.hashBlockNsPerToken)} ns/token.`);
    const hostStep = r.batching?.rows[0]?.breakdown;
    L.push(`Relative to one decode step: the CPU reference backend's decode step on stories260K takes ${fmt(h.cpuDecodeStepMs)} ms, so hashing one token costs ${fmt((h.extendNsPerToken * 1e-6) / h.cpuDecodeStepMs * 100, 2)}% of it${hostStep ? `; the WebGPU engine's host time per 1-stream decode step is ${fmt(hostStep.stepMs - hostStep.gpuWaitMs)} ms, so ${fmt((h.extendNsPerToken * 1e-6) / (hostStep.stepMs - hostStep.gpuWaitMs) * 100, 2)}%` : ''}. A 4096-token prompt hashes in ${fmt((h.extendNsPerToken * 4096) / 1e6)} ms.`, '');
  }

  L.push('## 6. Per-step overhead (decode steps, stories260K, WebGPU)', '');
  if (r.batching) {
    L.push('Measured with the Engine option onStep (schedule, sample, appendTokens, step boundaries), a timing decorator around the backend, and GPUQueue.submit / GPUComputePassEncoder.dispatchWorkgroups (counted, not read off the code). Median ms per step.', '');
    L.push('| streams | step | schedule() | prepare+upload+encode | GPU wait + read-back | sample | appendTokens | other (events, yield) | (schedule+sample)/step | host share (step − GPU wait) | dispatches / step | dispatches / token |');
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of r.batching.rows) {
      const s = row.breakdown;
      L.push(`| ${row.streams} | ${fmt(s.stepMs)} | ${fmt(s.scheduleMs)} | ${fmt(s.prepareMs)} | ${fmt(s.gpuWaitMs)} | ${fmt(s.sampleMs)} | ${fmt(s.appendMs)} | ${fmt(s.otherMs)} | ${pct((s.scheduleMs + s.sampleMs) / s.stepMs)} | ${pct(s.hostFraction)} | ${fmt(s.dispatchesPerStep)} | ${fmt(s.dispatchesPerToken)} |`);
    }
    if (r.prefix) for (const p of r.prefix) if (p.dispatchesPerForward) L.push('', `${p.model}: ${p.dispatchesPerForward} dispatches per forward (greedy).`);
    L.push('');
  } else L.push('Skipped (no WebGPU adapter).', '');
  for (const section of r.sections) L.push(section.markdown, '');
  if (r.skipped.length) L.push('## Skipped', '', ...r.skipped.map((s) => `- ${s}`), '');
  return L.join('\n');
}

export function panels(r: BenchReport): Panel[] {
  const out: Panel[] = [];
  const kv = r.kvReplay?.settings ?? [];
  const ctx = (s: (typeof kv)[number]) => `${s.params.memoryTokens} slots, ctx ${s.params.contextTokens}`;
  if (kv.length) out.push({
    title: 'KV slots holding tokens',
    unit: '% of allocated slots (higher is better)',
    groups: kv.map((s) => ({ label: ctx(s), bars: [s.paged, s.contiguous].map((x) => ({ series: x.allocator, value: x.utilization * 100, label: pct(x.utilization) })) })),
  });
  if (kv.length) out.push({
    title: `Requests finished in ${kv[0].params.steps} steps`,
    unit: 'count (higher is better)',
    groups: kv.map((s) => ({ label: ctx(s), bars: [s.paged, s.pagedNoReserve, s.contiguous].map((x) => ({ series: policy(x), value: x.finished, label: String(x.finished) })) })),
  });
  if (r.prefix) {
    out.push({
      title: 'TTFT, prompt 90% shared, relative to cold',
      unit: 'fraction of cold TTFT (lower is better); labels in ms',
      groups: r.prefix.map((p) => ({
        label: `${p.model} (${p.promptTokens} tok)`,
        bars: PREFIX_COLUMNS.map((c) => {
          const v = p.medianMs[c.id];
          return { series: c.short, value: v / p.medianMs.cold, label: `${fmt(v)} ms` };
        }),
      })),
    });
  }
  if (r.batching) {
    out.push({
      title: 'Decode throughput vs concurrent streams',
      unit: 'aggregate tokens/s, stories260K (labels: speed-up vs 1)',
      groups: r.batching.rows.map((row) => ({ label: `${row.streams}`, bars: [{ series: 'decode tok/s', value: row.tokensPerSecond, label: `${fmt(row.speedup)}x` }] })),
    });
    out.push({
      title: 'Host vs GPU time per decode step',
      unit: 'ms per step (median)',
      groups: r.batching.rows.map((row) => ({
        label: `${row.streams} streams`,
        bars: [
          { series: 'host (outside GPU wait)', value: row.breakdown.stepMs - row.breakdown.gpuWaitMs, label: fmt(row.breakdown.stepMs - row.breakdown.gpuWaitMs) },
          { series: 'GPU wait + read-back', value: row.breakdown.gpuWaitMs, label: fmt(row.breakdown.gpuWaitMs) },
        ],
      })),
    });
  }
  if (r.nSampling) {
    out.push({
      title: 'Peak KV blocks: n=4 vs 4 requests',
      unit: `blocks (lower is better); ${r.nSampling.promptTokens}-token prompt, ${r.nSampling.maxTokens} tokens each`,
      groups: r.nSampling.rows.map((row) => ({ label: row.label.replace('4 requests, ', '4 req, '), bars: [{ series: 'peak blocks', value: row.peakBlocks, label: String(row.peakBlocks) }] })),
    });
  }
  for (const section of r.sections) out.push(...(section.panels ?? []));
  return out;
}
