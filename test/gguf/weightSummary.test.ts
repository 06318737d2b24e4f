import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { weightSummary } from '../../src/model/weightSummary.ts';
import { GGUF_DIR, loadPath } from './ggufFiles.ts';

describe('what the weights are made of, in stats', () => {
  it("counts each GGUF file's tensors per format and their packed and f32 bytes", async () => {
    // SOURCE.md: stories260K-Q4_0.gguf holds F16 5, F32 11, Q4_0 31; 1-D norms are f32 in Folio as in the file.
    const { weights } = await loadPath(join(GGUF_DIR, 'stories260K-Q4_0.gguf'));
    const s = weightSummary(weights);
    expect(s.formats).toBe('Q4_0 31 · F32 11 · F16 5');
    const elems = [...weights.tensors.values()].reduce((n, t) => n + t.length, 0) + [...(weights.packed?.values() ?? [])].reduce((n, t) => n + t.rows * t.cols, 0);
    expect(s.f32Bytes).toBe(elems * 4);
    expect(s.packedBytes).toBeLessThan(s.f32Bytes / 4);
  });

  it('engine.stats() reports them; the WebAssembly CPU backend holds Q8_0 packed', async () => {
    const engine = await loadEngine({ source: await openSource(join(GGUF_DIR, 'stories260K-Q8_0.gguf')), backend: 'cpu' });
    const stats = await new FolioEngine(engine).stats();
    const s = weightSummary((await loadPath(join(GGUF_DIR, 'stories260K-Q8_0.gguf'))).weights);
    expect(stats.weights).toEqual({ formats: s.formats, deviceBytes: s.packedBytes });
    expect(stats.weights!.formats).toMatch(/^Q8_0 31 · /);
  });
});
