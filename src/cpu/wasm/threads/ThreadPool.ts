import type { Layout } from '../layout.ts';
import { KERNEL_FORMATS } from '../wat/module.ts';
import type { KernelFormat } from '../wat/decoders.ts';
import { POOL_WORKER_SOURCE } from './poolWorkerSource.ts';

/** How long a matmul may wait for its workers before the step fails. */
const STALL_MS = 60_000;

/** Bytes of the control words a pool keeps in the shared memory (poolWorkerSource.ts lists them). */
export const POOL_CONTROL_BYTES = 64;

/**
 * Where share i - 1 ends and share i begins: on a whole quad of rows, so that every share but the
 * last walks whole quads of the kernels' weight layout (wat/matmul.ts); poolWorkerSource.ts computes
 * the same.
 */
export function shareEnd(i: number, shares: number, rows: number): number {
  return i >= shares ? rows : 4 * Math.floor((rows * i) / (4 * shares));
}

/** A started worker, browser or Node, as far as the pool needs one. */
interface PoolWorker {
  post(msg: unknown): void;
  onceMessage(f: () => void): void;
  onError(f: (e: unknown) => void): void;
  terminate(): void;
}

/**
 * Why this realm cannot run a pool of matmul workers, or null when it can: threads need a
 * SharedArrayBuffer-backed memory, which a browser grants only to a cross-origin isolated page
 * (COOP: same-origin, COEP: require-corp or credentialless).
 */
export function threadsUnavailableReason(): string | null {
  const g = globalThis as { crossOriginIsolated?: boolean; process?: unknown };
  if (g.process === undefined && g.crossOriginIsolated !== true) {
    return 'this context is not cross-origin isolated, so it has no SharedArrayBuffer (serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp; an engine in a SharedWorker is never isolated)';
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'no SharedArrayBuffer in this JavaScript engine';
  return null;
}

async function spawn(): Promise<PoolWorker> {
  const g = globalThis as { process?: { versions?: { node?: string } }; Worker?: typeof Worker };
  if (g.process?.versions?.node) {
    // A variable specifier: bundlers leave it alone, and browsers never reach this line.
    const specifier = 'node:worker_threads';
    const { Worker: NodeWorker } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
    const w = new NodeWorker(POOL_WORKER_SOURCE, { eval: true });
    w.unref(); // an idle pool must not keep Node alive
    return { post: (m) => w.postMessage(m), onceMessage: (f) => w.once('message', f), onError: (f) => w.once('error', f), terminate: () => void w.terminate() };
  }
  if (!g.Worker) throw new Error('this realm cannot start workers');
  const url = URL.createObjectURL(new Blob([POOL_WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new g.Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (m) => w.postMessage(m),
    onceMessage: (f) => w.addEventListener('message', f, { once: true }),
    onError: (f) => w.addEventListener('error', f, { once: true }),
    terminate: () => w.terminate(),
  };
}

/**
 * Matmuls split by rows across `threads` (this thread and threads - 1 workers) over one shared
 * memory: one dispatch is a generation bump and a notify, each share runs matmul_<fmt> on rows
 * [shareEnd(i), shareEnd(i + 1)) (about rows / threads each, on whole quads of rows), and the caller waits for the done count: one
 * barrier per matmul. Each row is computed exactly as on one thread, so results do not depend on
 * the thread count.
 */
export class ThreadPool {
  private readonly ctrl: Int32Array;

  private constructor(
    private readonly workers: PoolWorker[],
    memory: WebAssembly.Memory,
    ctrlAt: number,
  ) {
    this.ctrl = new Int32Array(memory.buffer, ctrlAt, POOL_CONTROL_BYTES / 4);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Worker i (from 1) runs its shares with the matmul scratch at matmulScratch + i * matmulScratchBytes. */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, layout: Pick<Layout, 'poolCtrl' | 'f16tab' | 'matmulScratch' | 'matmulScratchBytes'>): Promise<ThreadPool> {
    const workers: PoolWorker[] = [];
    try {
      for (let i = 1; i < threads; i++) workers.push(await spawn());
      await Promise.all(
        workers.map(
          (w, i) =>
            new Promise<void>((resolve, reject) => {
              w.onceMessage(() => resolve());
              w.onError(reject);
              w.post({ module, memory, ctrl: layout.poolCtrl, index: i + 1, f16tab: layout.f16tab, scratch: layout.matmulScratch + (i + 1) * layout.matmulScratchBytes });
            }),
        ),
      );
    } catch (e) {
      workers.forEach((w) => w.terminate());
      throw e;
    }
    return new ThreadPool(workers, memory, layout.poolCtrl);
  }

  /** Runs `matmul` (this thread's kernel) over all rows, sharing them with the workers. */
  matmul(run: (r0: number, r1: number) => void, format: KernelFormat, w: number, rowBytes: number, x: number, y: number, rows: number, cols: number, n: number): void {
    const c = this.ctrl;
    const shares = this.threads;
    c[2] = KERNEL_FORMATS.indexOf(format);
    c[3] = w;
    c[4] = rowBytes;
    c[5] = x;
    c[6] = y;
    c[7] = rows;
    c[8] = cols;
    c[9] = n;
    c[10] = shares;
    Atomics.store(c, 1, 0);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    run(0, shareEnd(1, shares, rows));
    const want = shares - 1;
    const since = performance.now();
    for (let done = Atomics.load(c, 1); done < want; done = Atomics.load(c, 1)) {
      // Atomics.wait is refused on a browser's main thread: spin there.
      try {
        Atomics.wait(c, 1, done, 50);
      } catch {
        /* spin */
      }
      // A worker that died (out of memory, terminated) never counts itself done: fail the step, not hang.
      if (performance.now() - since > STALL_MS) throw new Error(`a matmul worker did not finish within ${STALL_MS / 1000} s`);
    }
  }

  dispose(): void {
    Atomics.store(this.ctrl, 11, 1);
    Atomics.add(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    this.workers.forEach((w) => w.terminate());
  }
}
