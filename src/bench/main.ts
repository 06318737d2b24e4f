/**
 * `npm run bench`: Folio's benchmarks. Writes results.json, chart.svg and summary.md to
 * bench-results/<timestamp>/ (or --out DIR) and prints the summary. Run through
 * scripts/bench.mjs, which sets the environment Dawn needs to find SwiftShader.
 *
 * Options: --out DIR; --quick (fewer repeats: a smoke run); --no-gpu (pure sections only);
 * --no-smollm (skip the SmolLM2-shaped model, the slowest section); --only NAME[,NAME] (run only
 * these sections: kv, hashing, batching, nsampling, prefix, and those of src/bench/sections.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { SMOLLM2_135M, syntheticWeights } from '../model/synthetic.ts';
import { DEFAULT_RESERVE, NO_RESERVE } from '../scheduler/reserve.ts';
import { benchBatching } from './batching.ts';
import { describeAdapter } from './dawn.ts';
import { loadStories } from './engines.ts';
import { benchHashing } from './hashing.ts';
import { installGpuCounters } from './instrument.ts';
import { replayContiguous, type ReplayParams, type ReplayResult, replayPaged } from './kvReplay.ts';
import { benchNSampling } from './nSampling.ts';
import { benchPrefix, type PrefixResult } from './prefix.ts';
import { type BenchReport, type KvReplaySection, markdown, panels } from './report.ts';
import { fmt, median, minMax, prng } from './stats.ts';
import { SECTIONS } from './sections.ts';
import { chartSvg } from './svg.ts';
import { DEFAULT_TRACE, makeTrace, traceSummary } from './trace.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const only = option('--only')?.split(',');
const wants = (name: string) => !only || only.includes(name);
const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

function kvReplay(): KvReplaySection {
  const seeds = quick ? [1] : [1, 2, 3];
  const base = { memoryTokens: 32768, blockSize: 16, maxBatchTokens: 512, maxNumSeqs: 256, steps: 2000 };
  const settings = [2048, 4096].map((contextTokens) => {
    const params: ReplayParams = { ...base, contextTokens };
    const paged: ReplayResult[] = [];
    const pagedNoReserve: ReplayResult[] = [];
    const contiguous: ReplayResult[] = [];
    for (const seed of seeds) {
      const trace = makeTrace({ ...DEFAULT_TRACE, seed });
      paged.push(replayPaged(trace, params, DEFAULT_RESERVE));
      pagedNoReserve.push(replayPaged(trace, params, NO_RESERVE));
      contiguous.push(replayContiguous(trace, params));
    }
    const med = (rs: ReplayResult[]): ReplayResult => {
      const pick = <K extends keyof ReplayResult>(k: K) => median(rs.map((r) => r[k] as number));
      return {
        allocator: rs[0].allocator,
        reserve: rs[0].reserve,
        utilization: pick('utilization'),
        occupancy: pick('occupancy'),
        seqsMean: pick('seqsMean'),
        seqsPeak: pick('seqsPeak'),
        finished: pick('finished'),
        generatedTokens: pick('generatedTokens'),
        computedTokens: pick('computedTokens'),
        preemptions: pick('preemptions'),
        preemptionsPerFinished: pick('preemptionsPerFinished'),
      };
    };
    const ratios = paged.map((p, i) => p.finished / contiguous[i].finished);
    const perFinished = (rs: ReplayResult[]) => rs.map((r) => `${r.finished} (${fmt(r.preemptionsPerFinished)})`).join('/');
    log(`kv replay, context ${contextTokens}: finished (preemptions per finished) paged ${perFinished(paged)}, without reserve ${perFinished(pagedNoReserve)}, contiguous ${contiguous.map((c) => c.finished).join('/')}`);
    return { params, paged: med(paged), pagedNoReserve: med(pagedNoReserve), contiguous: med(contiguous), finishedRatioRange: minMax(ratios) };
  });
  return { trace: DEFAULT_TRACE, traceStats: traceSummary(makeTrace(DEFAULT_TRACE)), seeds, settings };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const out = resolve(option('--out') ?? join('bench-results', startedAt.replace(/[:.]/g, '-')));
  mkdirSync(out, { recursive: true });
  const skipped: string[] = [];
  log(`writing to ${out}`);

  log('1. KV replay (pure)');
  const kv = wants('kv') ? kvReplay() : null;

  const stories = await loadStories();
  log('5. hashing cost');
  const hashing = wants('hashing') ? benchHashing(stories.weights) : null;

  let adapter = flag('--no-gpu') ? null : await describeAdapter();
  if (!flag('--no-gpu') && !adapter) skipped.push('GPU sections: no WebGPU adapter (run through scripts/bench.mjs so that Dawn finds SwiftShader)');
  if (flag('--no-gpu')) skipped.push('GPU sections: --no-gpu');
  let prefix: PrefixResult[] | null = null;
  let batching = null;
  let nSampling = null;
  if (adapter) {
    log(`adapter: ${adapter.name}${adapter.swiftShader ? ' (SwiftShader: CPU)' : ''}`);
    if (!installGpuCounters()) skipped.push('dispatch counting: WebGPU prototypes not found');

    log('3+6. batching and per-step overhead');
    if (wants('batching')) batching = await benchBatching({ weights: stories.weights, tokenizer: stories.tokenizer, streams: [1, 2, 4, 8, 16], maxTokens: 32, repeats: quick ? 1 : 5, log });

    log('4. n=4 sampling');
    if (wants('nsampling')) nSampling = await benchNSampling(stories.weights, 256, 32, log);

    log('2. prefix cache TTFT');
    if (wants('prefix')) prefix = [await benchPrefix({ modelName: 'stories260K', weights: stories.weights, promptTokens: 128, shared: 0.9, repeats: quick ? 2 : 5, numBlocks: 256, log })];
    if (flag('--no-smollm')) skipped.push('SmolLM2-135M-shaped prefix TTFT: --no-smollm');
    else if (prefix) {
      log('generating SmolLM2-135M-shaped random weights');
      const weights = syntheticWeights(SMOLLM2_135M, prng(1));
      prefix.push(await benchPrefix({ modelName: 'SmolLM2-135M shape (random)', weights, promptTokens: 128, shared: 0.9, repeats: quick ? 1 : 3, numBlocks: 64, log }));
    }
  }

  const sections: BenchReport['sections'] = [];
  for (const section of SECTIONS) {
    if (!wants(section.name)) continue;
    if (section.needsGpu && !adapter) {
      skipped.push(`${section.name}: needs a WebGPU adapter`);
      continue;
    }
    log(`section ${section.name}`);
    const result = await section.run({ quick, smollm: !flag('--no-smollm'), adapter, stories, log });
    sections.push({ name: section.name, ...result });
    skipped.push(...(result.skipped ?? []));
  }

  const report: BenchReport = {
    startedAt,
    runtimeSeconds: (performance.now() - t0) / 1000,
    host: { node: process.version, cpus: cpus().length, platform: `${process.platform}/${process.arch}`, loadAvg: loadavg() },
    adapter,
    kvReplay: kv,
    prefix,
    batching,
    nSampling,
    hashing,
    sections,
    skipped,
  };
  const summary = markdown(report);
  writeFileSync(join(out, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(out, 'summary.md'), summary + '\n');
  writeFileSync(join(out, 'chart.svg'), chartSvg(`${adapter ? `adapter: ${adapter.name}${adapter.swiftShader ? ' (SwiftShader, a CPU: compare ratios only)' : ''}` : 'no GPU adapter'} · ${startedAt}`, panels(report)));
  process.stdout.write(summary + '\n');
  process.stdout.write(`\nWrote ${join(out, 'results.json')}, ${join(out, 'summary.md')}, ${join(out, 'chart.svg')}\n`);
  // Dawn keeps the event loop alive; the results are written.
  adapter = null;
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
