import { CpuBackend } from '../../src/cpu/CpuBackend.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { loadModel } from '../../src/model/loadModel.ts';
import type { ModelWeights } from '../../src/model/weights.ts';

/** Every position's logits for `tokens` in one prefill on the TypeScript reference. */
export async function cpuLogits(weights: ModelWeights, tokens: number[]): Promise<Float32Array> {
  const blockSize = 16;
  const numBlocks = Math.ceil(tokens.length / blockSize);
  const backend = new CpuBackend(weights, { blockSize, numBlocks });
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const [logits] = await backend.forward({ chunks: [{ tokens, startPos: 0, blockTable }], logits: 'all' });
  backend.dispose();
  return logits;
}

/** A model folder loaded as Folio loads it, then run on the reference. */
export async function folderLogits(dir: string, tokens: number[]): Promise<Float32Array> {
  const { weights } = await loadModel(new FolderSource(dir));
  return cpuLogits(weights, tokens);
}

/** The largest absolute difference between two arrays of the same length. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Greedy ids after `prompt` on the reference: first maximum wins, as torch.argmax picks. */
export async function cpuGreedy(weights: ModelWeights, prompt: number[], n: number): Promise<number[]> {
  const blockSize = 16;
  const numBlocks = Math.ceil((prompt.length + n) / blockSize);
  const backend = new CpuBackend(weights, { blockSize, numBlocks });
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const out: number[] = [];
  let chunk = prompt;
  let startPos = 0;
  while (out.length < n) {
    const [logits] = await backend.forward({ chunks: [{ tokens: chunk, startPos, blockTable }], logits: 'last' });
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    out.push(best);
    startPos += chunk.length;
    chunk = [best];
  }
  backend.dispose();
  return out;
}
