import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SHARED } from '../paths.ts';
import { tempDir } from '../model/synthetic.ts';

const src = join(SHARED, 'models', 'stories260K');
const checkpoint = join(src, 'stories260K.bin');
const tokenizer = join(src, 'tok512.bin');

/** Runs the CLI in this process; returns its exit code and what it wrote to stderr. */
async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, stderr };
}

describe('folio convert: file-system errors are typed, readable, without a stack', () => {
  const tmp = tempDir('folio-convert-errors-');
  const aFile = join(tmp.dir, 'a-file');
  writeFileSync(aFile, 'not a folder');
  mkdirSync(join(tmp.dir, 'a-folder'));
  afterAll(tmp.cleanup);
  afterEach(() => vi.restoreAllMocks());

  const cases: [string, string[], RegExp][] = [
    ['ENOENT: a checkpoint that does not exist', ['--checkpoint', join(tmp.dir, 'missing.bin'), '--tokenizer', tokenizer, '--out', join(tmp.dir, 'o1')], /^folio: InvalidParamsError: checkpoint: .*missing\.bin: no such file or folder\n$/],
    ['ENOTDIR: a path through a file', ['--checkpoint', checkpoint, '--tokenizer', join(aFile, 'tok.bin'), '--out', join(tmp.dir, 'o2')], /^folio: InvalidParamsError: tokenizer: .*a-file\/tok\.bin: a part of the path is a file, not a folder\n$/],
    ['EISDIR: a folder given as the checkpoint', ['--checkpoint', join(tmp.dir, 'a-folder'), '--tokenizer', tokenizer, '--out', join(tmp.dir, 'o3')], /^folio: InvalidParamsError: checkpoint: .*a-folder: is a folder, not a file\n$/],
    ['EEXIST: --out is a file', ['--checkpoint', checkpoint, '--tokenizer', tokenizer, '--out', aFile], /^folio: InvalidParamsError: out: .*a-file: exists and is not a folder\n$/],
    ['ENOTDIR: --out under a file', ['--checkpoint', checkpoint, '--tokenizer', tokenizer, '--out', join(aFile, 'sub')], /^folio: InvalidParamsError: out: .*a-file\/sub: a part of the path is a file, not a folder\n$/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const { code, stderr } = await run('convert', ...args);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('a model folder that does not exist prints one line, not a stack', async () => {
    const { code, stderr } = await run('generate', '--backend', 'cpu', '--model', join(tmp.dir, 'missing-model'), '--prompt', 'x');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/^folio: \w+Error: /);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
