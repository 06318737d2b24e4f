/**
 * The worker half of the weights section's --chromium part (weightsChromium.ts drives it): in a
 * dedicated worker of headless Chromium, as Folio's engine runs, a Llama-3.2-1B-shaped model is
 * made in Q4_0 (synthetic weights, row chunk by row chunk), loaded onto navigator.gpu with the
 * limits clamped to WebGPU's defaults, and decodes a few greedy tokens. Posts each phase as it
 * starts (so the driver can attribute memory to it) and the figures at the end.
 */
import { GpuBackend } from '../gpu/GpuBackend.ts';
import type { ModelWeights } from '../model/weights.ts';
import { DEFAULT_LIMITS, LLAMA_3_2_1B, syntheticPacked } from './syntheticPacked.ts';

export interface ChromiumOneB {
  deviceBytes: number;
  weightBuffers: number;
  largestBuffer: number;
  kernels: string;
  synthesizeMs: number;
  loadMs: number;
  generated: number[];
  stepMs: number[];
}

const post = (m: unknown) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (e: MessageEvent<{ steps: number }>) => {
  try {
    post({ phase: 'synthesize' });
    const t0 = performance.now();
    let weights: ModelWeights | null = syntheticPacked(LLAMA_3_2_1B, 'Q4_0', 1, () => {});
    const t1 = performance.now();
    post({ phase: 'load' });
    const backend = await GpuBackend.create(weights, { blockSize: 16, numBlocks: 1, clampLimits: DEFAULT_LIMITS });
    const t2 = performance.now();
    weights = null; // the backend keeps no reference: the host copy may go
    post({ phase: 'generate' });
    try {
      let tokens = [LLAMA_3_2_1B.bosTokenId!, 791, 6460, 315];
      let pos = 0;
      const generated: number[] = [];
      const stepMs: number[] = [];
      for (let i = 0; i < e.data.steps; i++) {
        const s = performance.now();
        const [next] = await backend.forwardGreedy({ chunks: [{ tokens, startPos: pos, blockTable: [0] }], logits: 'last' });
        stepMs.push(performance.now() - s);
        pos += tokens.length;
        generated.push(next);
        tokens = [next];
      }
      const layout = backend.weightLayout;
      const result: ChromiumOneB = {
        deviceBytes: backend.weightBytes,
        weightBuffers: layout.buffers.length,
        largestBuffer: Math.max(...layout.buffers),
        kernels: backend.kernelsDescription,
        synthesizeMs: t1 - t0,
        loadMs: t2 - t1,
        generated,
        stepMs,
      };
      post({ phase: 'done', result });
    } finally {
      backend.dispose();
    }
  } catch (err) {
    post({ phase: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
