/**
 * The gguf-reference section (issue 11): every GGUF fixture through the CLI users run,
 * `folio generate --model <file.gguf> --temperature 0 --ignore-eos --json`, on the CPU and on
 * WebGPU (headless Chromium on SwiftShader, whose adapter gets the 'fallback' kernels under
 * 'auto'), against ../shared/fixtures/gguf-reference.json: whether the greedy ids equal the exact
 * reference (transformers' f32 on the file's dequantized weights), where they first leave it and
 * the reference's top-1/top-2 logit gap there (under ~1e-3 a near-tie that f32 summation order
 * alone may flip), and agreement with llama.cpp's own ids (a looser reference: it quantizes
 * activations in its matmuls): its ids teacher-forced through Folio's CPU reference (which the
 * GPU reproduces id for id wherever the first table says "yes"), and where its free-running
 * output first leaves Folio's WebGPU output.
 *
 * The CLI is spawned once per file and backend (about 25 s each on WebGPU, mostly Chromium's
 * start and pipeline compiles): a full run takes some minutes. FOLIO_GGUF_KERNELS=gpu runs the
 * WebGPU half on the 'gpu' kernel set instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CpuBackend } from '../cpu/CpuBackend.ts';
import { loadAnyModel } from '../gguf/loadAnyModel.ts';
import { openSource } from '../model/ModelSource.ts';
import type { BenchSection, SectionContext, SectionResult } from './sections.ts';

interface Run {
  prompt: string;
  prompt_ids: number[];
  exact_greedy_ids: number[];
  exact_top2_gap: number[];
  llamacpp_greedy_ids_loose?: number[];
}
type Reference = { files: Record<string, { arch: string; runs: Run[] }> };

const BACKENDS = ['cpu', 'webgpu'] as const;
type Backend = (typeof BACKENDS)[number];

export interface ReferenceRow {
  file: string;
  backend: Backend;
  positions: number;
  promptIdsMatch: boolean;
  exact: boolean;
  /** First generated position whose id differs from the exact reference; null when none does. */
  firstDivergence: number | null;
  /** The reference's top-1 minus top-2 logit at that position. */
  gapAtDivergence: number | null;
  seconds: number;
  error?: string;
}

export interface LlamaCppRow {
  file: string;
  positions: number;
  /** llama.cpp's ids teacher-forced through Folio's CPU reference: share of positions whose argmax is llama.cpp's id. */
  top1: number;
  /** Where llama.cpp's free-running ids first leave Folio's WebGPU CLI output (null: never). */
  leavesFolioAt: number | null;
}

const exec = promisify(execFile);
const FOLIO = resolve('bin', 'folio.mjs');

async function generate(file: string, run: Run, backend: Backend): Promise<{ prompt_ids: number[]; generated_ids: number[] }> {
  const kernels = backend === 'webgpu' && process.env.FOLIO_GGUF_KERNELS ? ['--kernels', process.env.FOLIO_GGUF_KERNELS] : [];
  const args = [FOLIO, 'generate', '--backend', backend, ...kernels, '--model', file, '--prompt', run.prompt];
  args.push('--max-tokens', String(run.exact_greedy_ids.length), '--temperature', '0', '--ignore-eos', '--json');
  const { stdout } = await exec(process.execPath, args, { maxBuffer: 1 << 24, timeout: 600_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const argmaxAt = (l: Float32Array, at: number, n: number): number => {
  let best = 0;
  for (let i = 1; i < n; i++) if (l[at + i] > l[at + best]) best = i;
  return best;
};

/** llama.cpp's greedy ids teacher-forced through the CPU reference: top-1 agreement per position. */
async function teacherForcedTop1(path: string, run: Run, ids: number[]): Promise<number> {
  const { weights } = await loadAnyModel(await openSource(path));
  const vocab = weights.config.vocabSize;
  const seq = [...run.prompt_ids, ...ids.slice(0, -1)];
  const numBlocks = Math.ceil(seq.length / 16);
  const cpu = new CpuBackend(weights, { blockSize: 16, numBlocks });
  try {
    const [logits] = await cpu.forward({ chunks: [{ tokens: seq, startPos: 0, blockTable: Array.from({ length: numBlocks }, (_, b) => b) }], logits: 'all' });
    return ids.filter((id, i) => argmaxAt(logits, (run.prompt_ids.length - 1 + i) * vocab, vocab) === id).length / ids.length;
  } finally {
    cpu.dispose();
  }
}

export async function ggufReferenceRows(shared: string, log: (m: string) => void): Promise<{ rows: ReferenceRow[]; llamaCpp: LlamaCppRow[] }> {
  const ref = JSON.parse(readFileSync(resolve(shared, 'fixtures', 'gguf-reference.json'), 'utf8')) as Reference;
  const rows: ReferenceRow[] = [];
  const llamaCpp: LlamaCppRow[] = [];
  for (const [file, { runs }] of Object.entries(ref.files)) {
    const path = resolve(shared, 'models', 'gguf', file);
    for (const run of runs) {
      const want = run.exact_greedy_ids;
      let webgpuIds: number[] | null = null;
      for (const backend of BACKENDS) {
        const t = performance.now();
        try {
          // One retry: on a loaded machine Chromium's page may miss its start deadline.
          const out = await generate(path, run, backend).catch((e: unknown) => {
            log(`gguf-reference: ${file} ${backend}: retrying after ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
            return generate(path, run, backend);
          });
          const div = want.findIndex((id, i) => out.generated_ids[i] !== id);
          const firstDivergence = div < 0 && out.generated_ids.length === want.length ? null : div < 0 ? out.generated_ids.length : div;
          rows.push({
            file,
            backend,
            positions: want.length,
            promptIdsMatch: JSON.stringify(out.prompt_ids) === JSON.stringify(run.prompt_ids),
            exact: firstDivergence === null,
            firstDivergence,
            gapAtDivergence: firstDivergence === null ? null : (run.exact_top2_gap[firstDivergence] ?? null),
            seconds: (performance.now() - t) / 1000,
          });
          if (backend === 'webgpu') webgpuIds = out.generated_ids;
        } catch (e) {
          // A failed CLI's own words are in its stderr (the last Error line), not in execFile's message.
          const stderr = (e as { stderr?: string }).stderr ?? '';
          const error = stderr.split('\n').filter((l) => /Error\b/.test(l)).pop()?.trim() ?? (e instanceof Error ? e.message.split('\n')[0] : String(e));
          rows.push({ file, backend, positions: want.length, promptIdsMatch: false, exact: false, firstDivergence: 0, gapAtDivergence: null, seconds: (performance.now() - t) / 1000, error });
        }
        const last = rows[rows.length - 1];
        log(`gguf-reference: ${file} ${backend}: ${last.exact ? 'exact' : `diverges at ${last.firstDivergence}${last.error ? ` (${last.error})` : ''}`} in ${last.seconds.toFixed(1)} s`);
      }
      const loose = run.llamacpp_greedy_ids_loose;
      if (loose) {
        const leaves = webgpuIds ? loose.findIndex((id, i) => webgpuIds![i] !== id) : 0;
        llamaCpp.push({ file, positions: loose.length, top1: await teacherForcedTop1(path, run, loose), leavesFolioAt: leaves < 0 ? null : leaves });
      }
    }
  }
  return { rows, llamaCpp };
}

export const ggufReferenceSection: BenchSection = {
  name: 'gguf-reference',
  // WebGPU here is Chromium's (the CLI's --backend webgpu), not Dawn's.
  needsGpu: false,
  async run(ctx: SectionContext): Promise<SectionResult> {
    const shared = process.env.FOLIO_SHARED ?? resolve('..', 'shared');
    if (!existsSync(resolve(shared, 'fixtures', 'gguf-reference.json'))) {
      return { markdown: '## GGUF fixtures against their exact reference\n\nNot run.', data: null, skipped: ['gguf-reference: ../shared/fixtures/gguf-reference.json not found (set FOLIO_SHARED)'] };
    }
    const { rows, llamaCpp } = await ggufReferenceRows(shared, ctx.log);
    const byFile = new Map<string, ReferenceRow[]>();
    for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
    const cell = (r: ReferenceRow | undefined) =>
      !r ? 'not run' : r.error ? `error: ${r.error}` : r.exact ? 'yes' : `no: from ${r.firstDivergence}${r.gapAtDivergence !== null ? ` (gap ${r.gapAtDivergence.toExponential(1)})` : ''}`;
    const loose = new Map(llamaCpp.map((l) => [l.file, l]));
    const kernels = process.env.FOLIO_GGUF_KERNELS ?? 'auto';
    const md = [
      '## GGUF fixtures against their exact reference',
      '',
      `Each file of ../shared/models/gguf through \`folio generate --model <file> --temperature 0 --ignore-eos --json\` (prompt "Once upon a time"), its greedy ids against gguf-reference.json's exact ids (cpu; webgpu = headless Chromium on SwiftShader, --kernels ${kernels}). "gap" is the reference's top-1 minus top-2 logit where Folio first leaves it. llama.cpp: its own greedy ids teacher-forced through Folio's CPU reference (top-1 agreement), and where its free-running output first leaves Folio's WebGPU output.`,
      '',
      '| file | ids | exact on cpu | exact on webgpu | webgpu s | llama.cpp top-1 | llama.cpp leaves Folio at |',
      '|---|---|---|---|---|---|---|',
      ...[...byFile].map(([file, rs]) => {
        const cpu = rs.find((r) => r.backend === 'cpu');
        const gpu = rs.find((r) => r.backend === 'webgpu');
        const l = loose.get(file);
        return `| ${file} | ${rs[0].positions} | ${cell(cpu)} | ${cell(gpu)} | ${gpu ? gpu.seconds.toFixed(1) : '-'} | ${l ? `${(100 * l.top1).toFixed(1)}%` : '-'} | ${l ? (l.leavesFolioAt ?? 'never') : '-'} |`;
      }),
      '',
      `${rows.filter((r) => r.exact).length} of ${rows.length} runs exact.`,
      '',
    ].join('\n');
    return { markdown: md, data: { kernels, rows, llamaCpp } };
  },
};
