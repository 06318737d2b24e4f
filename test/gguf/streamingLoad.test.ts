import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGguf } from '../../src/gguf/loadGguf.ts';
import { PeakMeter } from '../../src/gguf/PeakMeter.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { ggufSource, type ModelSource } from '../../src/model/ModelSource.ts';
import { GGUF_DIR, loadPath } from './ggufFiles.ts';

const CHUNK = 64 * 1024;

/** The fixture folder, streamed in chunks of CHUNK bytes (a download's pieces), each a fresh buffer. */
function chunkedFolder(file: string): ModelSource {
  const folder = new FolderSource(GGUF_DIR);
  return ggufSource({ describe: () => folder.describe(), fetchFile: (n) => folder.fetchFile(n), fetchJson: (n) => folder.fetchJson(n), streamFile: (n) => folder.streamFile(n, CHUNK) }, file);
}

describe('a GGUF load reads tensors as the file streams', () => {
  it('holds at most one tensor, a chunk or two and the header beyond what it keeps, not the whole file', async () => {
    for (const file of ['rand256-Q4_0.gguf', 'rand256-Q4_K_M.gguf']) {
      const size = statSync(join(GGUF_DIR, file)).size;
      const meter = new PeakMeter();
      const { weights } = await loadGguf(chunkedFolder(file), { meter });
      const packed = [...weights.packed!.values()];
      const kept = packed.reduce((n, t) => n + t.bytes.length, 0) + [...weights.tensors.values()].reduce((n, t) => n + t.byteLength, 0);
      const largest = Math.max(...packed.map((t) => t.bytes.length));
      // Every byte the load took is accounted for: what it keeps is still held at the end.
      expect(meter.held, file).toBe(kept);
      // Beyond what it keeps: the largest tensor (a q/k row permutation copies one), the chunks
      // of the header's first read (64 KiB) and the chunk after, one chunk being read, the
      // finiteness check's 64 KiB. (The meter counts chunks, kept tensors and scratch; the
      // header's parsed copy is not counted.)
      const bound = kept + largest + 2 * 64 * 1024 + 2 * CHUNK + 64 * 1024;
      expect(meter.peak, file).toBeLessThanOrEqual(bound);
      // The whole file held with the result would not fit that bound.
      expect(kept + size, file).toBeGreaterThan(bound);
      // Each kept tensor owns its bytes: no view keeps a whole chunk alive.
      for (const t of packed) expect(t.bytes.byteLength).toBe(t.bytes.buffer.byteLength);
    }
  });

  it('streamed in small chunks, the weights are the same as read whole', async () => {
    for (const file of ['rand256-Q4_K_M.gguf', 'stories260K-F16.gguf']) {
      const streamed = await loadGguf(chunkedFolder(file));
      const whole = await loadPath(join(GGUF_DIR, file));
      expect(streamed.weights.fingerprint).toBe(whole.weights.fingerprint);
      for (const [name, t] of whole.weights.packed!) {
        const s = streamed.weights.packed!.get(name)!;
        // Buffer.equals: vitest's toEqual walks a typed array element by element (seconds for 2 MB)
        expect({ ...s, bytes: null }, name).toEqual({ ...t, bytes: null });
        expect(Buffer.from(s.bytes).equals(t.bytes), name).toBe(true);
      }
      for (const [name, t] of whole.weights.tensors) expect(Buffer.from(streamed.weights.tensors.get(name)!.buffer).equals(Buffer.from(t.buffer)), name).toBe(true);
    }
  });
});
