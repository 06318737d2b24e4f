import { describe, expect, it } from 'vitest';
import { OverallProgress } from '../../src/api/loadProgress.ts';
import type { LoadEvent, LoadStep } from '../../src/engine/WorkerApi.ts';

/** A download of `file` (`size` bytes) as the weight cache reports it, in `parts` pieces. */
function bytes(file: string, size: number, parts: number, fromCache = false): LoadStep[] {
  return Array.from({ length: parts }, (_, i) => ({ file, filesDone: 0, filesTotal: 0, bytesLoaded: Math.round((size * (i + 1)) / parts), bytesTotal: size, fromCache }));
}

function run(steps: LoadStep[]): LoadEvent[] {
  const p = new OverallProgress();
  return [...steps.map((s) => p.update(s)), p.ready('Ready')];
}

const fractions = (events: LoadEvent[]) => events.map((e) => e.progress);
const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]);

describe('load progress: one overall fraction and a line of text (issue 13)', () => {
  it('one weight file: metadata is 0, the weights fill up to 0.9 by bytes, ready is 1', () => {
    const events = run([
      { file: 'config.json', filesDone: 0, filesTotal: 0 },
      ...bytes('config.json', 500, 1),
      ...bytes('model.safetensors', 1000, 4),
      { file: 'model.safetensors', filesDone: 1, filesTotal: 1 },
    ]);
    expect(fractions(events)).toEqual([0, 0, 0.225, 0.45, 0.675, 0.9, 0.9, 1]);
    expect(events[3].text).toBe('Downloading model.safetensors: 0.00048 of 0.00095 MiB');
    expect(events[6].text).toBe('Weights loaded; building the engine');
    expect(events.at(-1)).toMatchObject({ progress: 1, text: 'Ready' });
  });

  it('shards: the count in the file names spreads 0.9 over all of them from the first byte', () => {
    const shard = (i: number) => `model-0000${i}-of-00003.safetensors`;
    const events = run([...bytes(shard(1), 300, 3, true), ...bytes(shard(2), 300, 1), ...bytes(shard(3), 300, 2)]);
    const f = fractions(events);
    expect(f[2]).toBeCloseTo(0.3, 10);
    expect(f[3]).toBeCloseTo(0.6, 10);
    expect(f[4]).toBeCloseTo(0.75, 10);
    expect(f[5]).toBeCloseTo(0.9, 10);
    expect(events[0].text).toMatch(/^Reading model-00001-of-00003.safetensors from this browser's cache: /);
  });

  it('without byte events (no cache) the loader counts files; a shard count learnt late never moves the bar back', () => {
    const events = run([
      { file: 'a.safetensors', filesDone: 1, filesTotal: 1 },
      { file: 'b.safetensors', filesDone: 2, filesTotal: 4 },
      { file: 'c.safetensors', filesDone: 3, filesTotal: 4 },
      { file: 'd.safetensors', filesDone: 4, filesTotal: 4 },
    ]);
    const f = fractions(events);
    expect(nonDecreasing(f)).toBe(true);
    expect(f[0]).toBe(0.9);
    expect(f[3]).toBe(0.9);
    expect(f.at(-1)).toBe(1);
  });

  it('a warning keeps the fraction and says so; the step fields pass through', () => {
    const p = new OverallProgress();
    p.update(bytes('model.safetensors', 100, 2)[0]);
    const w = p.update({ file: '', filesDone: 0, filesTotal: 0, warning: 'the storage quota is full' });
    expect(w).toMatchObject({ progress: 0.45, text: 'Warning: the storage quota is full', warning: 'the storage quota is full' });
    expect(p.update(bytes('model.safetensors', 100, 2)[1])).toMatchObject({ progress: 0.9, bytesLoaded: 100, bytesTotal: 100, fromCache: false });
  });
});
