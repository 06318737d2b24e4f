import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ModelFormatError } from '../../src/errors.ts';
import { loadAnyModel } from '../../src/gguf/loadAnyModel.ts';
import { memoryFetch } from '../../src/gguf/memoryFetch.ts';
import { partNames } from '../../src/gguf/ggufParts.ts';
import { openSource } from '../../src/model/ModelSource.ts';
import { Tokenizer } from '../../src/tokenizer/Tokenizer.ts';
import { cpuGreedy } from '../model/cpuLogits.ts';
import { fixtureBytes, GGUF_DIR, GGUF_REFERENCE, loadPath, tempFolder } from './ggufFiles.ts';
import { splitGguf } from './splitWriter.ts';

const tmp = tempFolder();
afterAll(() => tmp.remove());
afterEach(() => vi.unstubAllGlobals());

const SOURCE = 'stories260K-Q8_0.gguf';
const original = fixtureBytes(SOURCE);

/** The original's tensor names dealt round-robin into `n` groups, so each part holds tensors from all over the file. */
async function groups(n: number): Promise<string[][]> {
  const { tensorInfos } = await gguf('https://folio.invalid/x.gguf', { fetch: memoryFetch(original) });
  const out: string[][] = Array.from({ length: n }, () => []);
  tensorInfos.forEach((t, i) => out[i % n].push(t.name));
  return out;
}

/** Writes the parts as `{prefix}-0000i-of-0000N.gguf` and returns their paths. */
function writeParts(prefix: string, parts: Uint8Array[]): string[] {
  return parts.map((bytes, i) => tmp.write(`${prefix}-${String(i + 1).padStart(5, '0')}-of-${String(parts.length).padStart(5, '0')}.gguf`, bytes));
}

async function failure(path: string): Promise<unknown> {
  return loadPath(path).then(() => new Error('loaded'), (e: unknown) => e);
}

function expectFormatError(err: unknown, file: string, message: RegExp, tensor?: string): void {
  expect(err).toBeInstanceOf(ModelFormatError);
  const e = err as ModelFormatError;
  expect(e.file).toBe(file);
  expect(e.tensor).toBe(tensor);
  expect(e.message).toMatch(message);
}

describe('split GGUF files (gguf-split: -00001-of-0000N.gguf)', () => {
  it('any part names every part', () => {
    expect(partNames('m/x-Q4_K_M-00002-of-00003.gguf')).toEqual(['m/x-Q4_K_M-00001-of-00003.gguf', 'm/x-Q4_K_M-00002-of-00003.gguf', 'm/x-Q4_K_M-00003-of-00003.gguf']);
    expect(partNames('x-Q4_K_M.gguf')).toEqual(['x-Q4_K_M.gguf']);
    expect(() => partNames('x-00004-of-00003.gguf')).toThrow(ModelFormatError);
  });

  it('a model split in 3 loads from any part, with the single file\'s weights and greedy ids', async () => {
    const paths = writeParts('stories-q8', await splitGguf(original, await groups(3)));
    const single = await loadPath(join(GGUF_DIR, SOURCE));
    const { runs } = GGUF_REFERENCE.files[SOURCE];
    for (const path of [paths[0], paths[2]]) {
      const split = await loadPath(path);
      expect(split.weights.config).toEqual(single.weights.config);
      expect([...split.weights.packed!.keys()].sort()).toEqual([...single.weights.packed!.keys()].sort());
      // Buffer.equals: vitest's toEqual walks typed arrays element by element
      for (const [name, t] of single.weights.packed!) {
        const p = split.weights.packed!.get(name)!;
        expect({ ...p, bytes: null }, name).toEqual({ ...t, bytes: null });
        expect(Buffer.from(p.bytes).equals(t.bytes), name).toBe(true);
      }
      for (const [name, t] of single.weights.tensors) expect(Buffer.from(split.weights.tensors.get(name)!.buffer).equals(Buffer.from(t.buffer)), name).toBe(true);
      expect(split.tokenizerJson).toEqual(single.tokenizerJson);
      if (path !== paths[2]) continue;
      const tokenizer = Tokenizer.fromJson(split.tokenizerJson, split.tokenizerConfig);
      const prompt = tokenizer.encode(runs[0].prompt);
      expect(await cpuGreedy(split.weights, prompt, 40)).toEqual(runs[0].exact_greedy_ids.slice(0, 40));
    }
  });

  it('an http(s) URL and an hf: spec of one part fetch every part', async () => {
    const parts = await splitGguf(original, await groups(2));
    const names = ['s-00001-of-00002.gguf', 's-00002-of-00002.gguf'];
    const served = new Map(names.map((n, i) => [n, parts[i]]));
    const asked: string[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      const name = decodeURIComponent(new URL(url).pathname.split('/').pop()!);
      asked.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
      const bytes = served.get(name);
      if (!bytes) return new Response('', { status: 404 });
      return new Response(init?.method === 'HEAD' ? null : bytes.slice(), { headers: { 'Content-Length': String(bytes.length) } });
    });
    for (const spec of ['https://models.test/org/s/resolve/main/s-00002-of-00002.gguf', 'hf:org/s@v2/s-00001-of-00002.gguf']) {
      asked.length = 0;
      const { weights } = await loadAnyModel(await openSource(spec, { hfEndpoint: 'https://hf.test' }));
      expect(weights.packed!.size).toBeGreaterThan(0);
      const base = spec.startsWith('hf:') ? '/org/s/resolve/v2' : '/org/s/resolve/main';
      for (const n of names) expect(asked, spec).toContain(`GET ${base}/${n}`);
    }
  });

  it('malformed splits get typed errors naming the file', async () => {
    const three = await groups(3);
    // a missing part
    const missing = writeParts('missing', await splitGguf(original, three));
    rmSync(missing[1]);
    expectFormatError(await failure(missing[0]), 'missing-00002-of-00003.gguf', /is missing from .*part 2 of the 3 files/);
    // split.count disagrees with the names
    const counted = writeParts('count', await splitGguf(original, three, { count: 4 }));
    expectFormatError(await failure(counted[2]), 'count-00001-of-00003.gguf', /split into 4 files \(split.count\), but the file names say 3/);
    // split.no disagrees with the name
    const numbered = writeParts('no', await splitGguf(original, three, { splitNo: (i) => (i === 1 ? 2 : i) }));
    expectFormatError(await failure(numbered[0]), 'no-00002-of-00003.gguf', /part 3 \(split.no 2\), but its name makes it part 2/);
    // a tensor in two parts
    const twice = writeParts('twice', await splitGguf(original, [three[0], [...three[1], three[0][1]], three[2]]));
    expectFormatError(await failure(twice[0]), 'twice-00002-of-00003.gguf', /is also in twice-00001-of-00003.gguf/, three[0][1]);
    // split.tensors.count disagrees with the parts
    const tallied = writeParts('tally', await splitGguf(original, three, { tensorsCount: 46 }));
    expectFormatError(await failure(tallied[0]), 'tally-00001-of-00003.gguf', /46 tensors \(split.tensors.count\), but its 3 parts hold 47/);
    // a tensor in no part
    const lost = writeParts('lost', await splitGguf(original, [three[0], three[1].slice(1), three[2]], { tensorsCount: 46 }));
    expectFormatError(await failure(lost[0]), 'lost-00001-of-00003.gguf', /is missing/, three[1][0]);
    // one part of a split, renamed as a single file: the other parts would be ignored
    const [firstPart] = await splitGguf(original, three);
    expectFormatError(await failure(tmp.write('renamed.gguf', firstPart)), 'renamed.gguf', /one of 3 files of a split model/);
  });
});
