import { FolioEngine } from '../../src/api/FolioEngine.ts';
import type { Engine } from '../../src/engine/Engine.ts';
import { type KvOptions, loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { DEFAULT_MODEL } from '../paths.ts';

/** An in-process engine on the CPU backend over the default model, and its OpenAI-style surface. */
export async function cpuEngine(kv: KvOptions = {}, maxBatchTokens?: number): Promise<{ engine: Engine; api: FolioEngine }> {
  const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu', kv, maxBatchTokens });
  return { engine, api: new FolioEngine(engine) };
}

/** A prompt of about `words` words of story text, different for each seed. */
export function storyPrompt(seed: number, words: number): string {
  const vocab = ['Lily', 'Tom', 'the', 'dog', 'park', 'ball', 'happy', 'sun', 'tree', 'ran', 'saw', 'a', 'big', 'red', 'and', 'went'];
  let x = seed + 1;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(vocab[x % vocab.length]);
  }
  return out.join(' ');
}
