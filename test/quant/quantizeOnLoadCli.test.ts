import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, ROOT, SHARED } from '../paths.ts';

const bin = join(ROOT, 'bin', 'folio.mjs');
const reference = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'));

/** `folio generate --weights`: the CLI's path into quantize-on-load, on the CPU reference. */
describe('folio generate --weights <fmt> --backend cpu', () => {
  it('q4_0 on the stories260K safetensors folder prints stories260K-Q4_0.gguf\'s exact reference ids', () => {
    const run = reference.files['stories260K-Q4_0.gguf'].runs[0];
    const out = execFileSync(process.execPath, [bin, 'generate', '--model', DEFAULT_MODEL, '--weights', 'q4_0', '--prompt', run.prompt, '--max-tokens', String(run.exact_greedy_ids.length), '--backend', 'cpu', '--temperature', '0', '--ignore-eos', '--json'], { encoding: 'utf8' });
    const r = JSON.parse(out);
    expect(r.prompt_ids).toEqual(run.prompt_ids);
    expect(r.generated_ids).toEqual(run.exact_greedy_ids);
  });

  it('an unknown format is a usage error naming the choices, before any model is read', () => {
    const r = spawnSync(process.execPath, [bin, 'generate', '--model', '/nonexistent', '--weights', 'q3_k', '--backend', 'cpu'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/InvalidParamsError: .*weights.*f32, f16, q8_0, q4_0, q4_k.*"q3_k"/);
  });
});
