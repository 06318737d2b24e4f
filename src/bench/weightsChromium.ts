/**
 * The weights section's --chromium part: a Llama-3.2-1B-shaped Q4_0 model made, loaded and run in
 * a dedicated worker of headless Chromium (WebGPU on SwiftShader; weightsChromiumWorker.ts), with
 * the limits clamped to WebGPU's defaults. Memory is each Chromium process's resident set (Linux
 * /proc/<pid>/statm), sampled every 100 ms from here: the renderer holds the page and its worker
 * (the host copy of the weights), the GPU process holds the device's buffers (SwiftShader keeps
 * them in host memory). performance.measureUserAgentSpecificMemory needs cross-origin isolation
 * and reports only JS heaps, and CDP's Performance.getMetrics sees the page's main thread, not
 * the worker: RSS is what a load costs the machine. Peaks are kept per phase the worker announces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { launchChromium } from '../browser/chromium.ts';
import { startDevServer } from '../browser/devServer.ts';
import type { ChromiumOneB } from './weightsChromiumWorker.ts';

type Role = 'renderer' | 'gpu' | 'browser' | 'other';
type Phase = 'before' | 'synthesize' | 'load' | 'generate';
const PHASES: Phase[] = ['before', 'synthesize', 'load', 'generate'];

export interface ChromiumOneBResult extends ChromiumOneB {
  /** Peak RSS in bytes per phase and process role (summed over the processes of a role). */
  peakRss: Record<Phase, Record<Role, number>>;
  wallMs: number;
}

const PAGE = 4096;

/** Chromium's processes under this one, by role, and their resident bytes. */
function chromiumRss(): Record<Role, number> {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone already
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out: Record<Role, number> = { renderer: 0, gpu: 0, browser: 0, other: 0 };
  for (const pid of parent.keys()) {
    if (!ours(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom')) continue;
      const type = /--type=([\w-]+)/.exec(cmd)?.[1];
      const role: Role = type === 'renderer' ? 'renderer' : type === 'gpu-process' ? 'gpu' : type === undefined ? 'browser' : 'other';
      out[role] += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
    } catch {
      // gone already
    }
  }
  return out;
}

export async function chromiumOneB(steps: number, log: (m: string) => void): Promise<ChromiumOneBResult> {
  const { url, server } = await startDevServer();
  const chromium = await launchChromium();
  const peaks = Object.fromEntries(PHASES.map((p) => [p, { renderer: 0, gpu: 0, browser: 0, other: 0 }])) as Record<Phase, Record<Role, number>>;
  let phase: Phase = 'before';
  const sample = () => {
    const now = chromiumRss();
    for (const r of Object.keys(now) as Role[]) peaks[phase][r] = Math.max(peaks[phase][r], now[r]);
  };
  const timer = setInterval(sample, 100);
  const t0 = performance.now();
  try {
    const page = await chromium.context.newPage();
    await page.goto(`${url}/src/bench/weightsChromium.html`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 120_000 });
    sample();
    await page.evaluate((n) => (window as unknown as { startOneB(n: number): void }).startOneB(n), steps);
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const s = await page.evaluate(() => (window as unknown as { oneB: { phases: { phase: Phase }[]; result: ChromiumOneB | null; error: string | null } }).oneB);
      if (s.error) throw new Error(`the 1B-shaped model in Chromium failed: ${s.error}`);
      const last = s.phases[s.phases.length - 1]?.phase;
      if (last && last !== phase) {
        phase = last;
        log(`weights --chromium: ${phase} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
      if (s.result) {
        sample();
        return { ...s.result, peakRss: peaks, wallMs: performance.now() - t0 };
      }
    }
  } finally {
    clearInterval(timer);
    await chromium.close();
    await server.close();
  }
}
