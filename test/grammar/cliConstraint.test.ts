import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { generateCommand } from '../../src/cli/generate.ts';
import { EXAMPLE_SCHEMAS } from '../../src/grammar/exampleSchemas.ts';

/** Runs `folio generate ARGS` in this process and returns what it printed. */
async function folio(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await generateCommand(args);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('folio generate --json-schema / --grammar (cpu)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'folio-grammar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--json's completion is JSON valid under the schema; --grammar holds; a bad file is a GrammarError naming the construct", async () => {
    const schema = EXAMPLE_SCHEMAS.enums;
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
    const out = JSON.parse(await folio('--backend', 'cpu', '--prompt', 'Lily', '--temperature', '1', '--seed', '4', '--json-schema', join(dir, 'schema.json'), '--json')) as { completion: string };
    expect(new Ajv({ strict: false }).compile(schema)(JSON.parse(out.completion))).toBe(true);
    writeFileSync(join(dir, 'yes.gbnf'), 'root ::= ("yes" | "no") "!"{1,2}\n');
    const text = await folio('--backend', 'cpu', '--prompt', 'Lily', '--temperature', '1', '--seed', '2', '--grammar', join(dir, 'yes.gbnf'));
    expect(text.trim()).toMatch(/^Lily(yes|no)!{1,2}$/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ type: 'string', pattern: '(?<=a)b' }));
    await expect(folio('--backend', 'cpu', '--json-schema', join(dir, 'bad.json'))).rejects.toMatchObject({ name: 'GrammarError', param: 'json-schema', construct: 'pattern lookaround (?=, ?!, ?<=, ?<!)' });
    await expect(folio('--backend', 'cpu', '--grammar', join(dir, 'none.gbnf'))).rejects.toMatchObject({ name: 'InvalidParamsError', param: 'grammar' });
  });
});
