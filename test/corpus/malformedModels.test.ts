import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FolioEngine } from '../../src/api/FolioEngine.ts';
import { main } from '../../src/cli/main.ts';
import { loadEngine } from '../../src/engine/loadEngine.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { tempDir } from '../model/synthetic.ts';
import { DEFAULT_MODEL, SHARED } from '../paths.ts';
import { MALFORMED, writeMalformed } from './malformedModels.ts';

const fixture = JSON.parse(readFileSync(join(SHARED, 'fixtures', 'stories260K-greedy.json'), 'utf8')) as { next_ids: number[]; text: string; prompt: string };
// The fixture's ids after BOS start with the prompt's four tokens.
const maxTokens = fixture.next_ids.length - 4;

/** `folio <argv>` in this process: its exit code and what it wrote. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe(`a corpus of ${MALFORMED.length} malformed model folders, through the CLI and the API`, () => {
  const tmp = tempDir('folio-corpus-');
  const dirs = new Map<string, string>();
  beforeAll(() => {
    MALFORMED.forEach((m, i) => {
      const dir = join(tmp.dir, `m${i}`);
      writeMalformed(dir, m);
      dirs.set(m.name, dir);
    });
  });
  afterAll(tmp.cleanup);
  afterEach(() => vi.restoreAllMocks());

  it('has at least 30 folders, each a distinct fault', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(30);
    expect(new Set(MALFORMED.map((m) => m.name)).size).toBe(MALFORMED.length);
  });

  for (const m of MALFORMED) {
    it(`${m.name}: ${m.error.name} from loadEngine and from folio generate`, async () => {
      const dir = dirs.get(m.name)!;
      const err = await loadEngine({ source: new FolderSource(dir), backend: 'cpu' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, String(err)).toBeInstanceOf(m.error);
      expect((err as Error).name).toBe(m.error.name);

      const { code, stderr } = await cli('generate', '--backend', 'cpu', '--model', dir, '--prompt', fixture.prompt, '--max-tokens', '4');
      expect(code).not.toBe(0);
      expect(stderr).toMatch(new RegExp(`^folio: ${m.error.name}: \\S.*\\n$`));
      expect(stderr.split('\n')).toHaveLength(2);
    });
  }

  it('afterwards, the engine serves a correct greedy request, and so does the CLI', async () => {
    const engine = await loadEngine({ source: new FolderSource(DEFAULT_MODEL), backend: 'cpu' });
    const api = new FolioEngine(engine);
    const r = await api.completions.create({ prompt: fixture.prompt, max_tokens: maxTokens, temperature: 0 });
    expect(fixture.prompt + r.choices[0].text).toBe(fixture.text);
    api.dispose();

    const { code, stdout } = await cli('generate', '--backend', 'cpu', '--model', DEFAULT_MODEL, '--prompt', fixture.prompt, '--max-tokens', String(maxTokens), '--json');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect([...out.prompt_ids, ...out.generated_ids]).toEqual([1, ...fixture.next_ids]);
  });
});
