import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SHARED } from '../paths.ts';
import { GGUF_DIR } from './ggufFiles.ts';

const folio = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [join(ROOT, 'bin', 'folio.mjs'), ...args], { encoding: 'utf8' }));
const llama2c: { prompt: string; text: string; next_ids: number[] } = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'stories260K-greedy.json'), 'utf8'));
const reference = JSON.parse(readFileSync(resolve(SHARED, 'fixtures', 'gguf-reference.json'), 'utf8'));

/** `folio generate --model <file.gguf>`: the CLI opens a .gguf path as one GGUF model. */
describe('folio generate --model <file.gguf> --backend cpu', () => {
  it('stories260K-F32.gguf reproduces the llama2.c fixture, ids and text', () => {
    const maxTokens = llama2c.next_ids.length - 4; // the prompt is four tokens after BOS
    const r = folio('generate', '--model', join(GGUF_DIR, 'stories260K-F32.gguf'), '--prompt', llama2c.prompt, '--max-tokens', String(maxTokens), '--backend', 'cpu', '--temperature', '0', '--json');
    expect([...r.prompt_ids, ...r.generated_ids]).toEqual([1, ...llama2c.next_ids]);
    expect(r.text).toBe(llama2c.text);
  });

  it('qwen2-tiny-Q8_0.gguf: no BOS (add_bos_token false), and with --ignore-eos the reference ids past its EOS', () => {
    const run = reference.files['qwen2-tiny-Q8_0.gguf'].runs[0];
    const r = folio('generate', '--model', join(GGUF_DIR, 'qwen2-tiny-Q8_0.gguf'), '--prompt', run.prompt, '--max-tokens', '100', '--backend', 'cpu', '--temperature', '0', '--ignore-eos', '--json');
    expect(r.prompt_ids).toEqual(run.prompt_ids);
    expect(r.generated_ids).toEqual(run.exact_greedy_ids);
    expect(run.exact_greedy_ids).toContain(1000); // the reference does pass an EOS
  });
});
