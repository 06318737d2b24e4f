import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/loadModel.ts';
import { FolderSource } from '../../src/model/FolderSource.ts';
import { ROOT, SHARED } from '../paths.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[]; text: string; prompt: string };
const folio = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin', 'folio.mjs'), ...args], { encoding: 'utf8' });

describe('folio CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'folio-convert-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('converts stories260K to a Hugging Face folder with the real hyper-parameters', async () => {
    const src = join(SHARED, 'models', 'stories260K');
    folio('convert', '--checkpoint', join(src, 'stories260K.bin'), '--tokenizer', join(src, 'tok512.bin'), '--out', out);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5,
      num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, tie_word_embeddings: true,
    });
    const { weights, tokenizerConfig } = await loadModel(new FolderSource(out));
    expect(weights.tensors.get('model.layers.4.self_attn.k_proj.weight')!.length).toBe(32 * 64);
    expect(tokenizerConfig).toMatchObject({ bos_token: '<s>', eos_token: '</s>' });
  });

  it('greedy generation from the converted model reproduces the llama2.c fixture, ids and text', () => {
    const maxTokens = fixture.next_ids.length - 4; // the prompt is four tokens after BOS
    const r = JSON.parse(folio('generate', '--model', out, '--prompt', fixture.prompt, '--max-tokens', String(maxTokens), '--backend', 'cpu', '--json'));
    expect([...r.prompt_ids, ...r.generated_ids]).toEqual([1, ...fixture.next_ids]);
    expect(r.text).toBe(fixture.text);
    expect(fixture.text.startsWith(fixture.prompt + r.completion.slice(0, 5))).toBe(true);
  });

  it('seeded sampling is reproducible and differs from greedy', () => {
    const run = (seed: string) => JSON.parse(folio('generate', '--model', out, '--prompt', 'Lily', '--max-tokens', '30', '--temperature', '1', '--top-p', '0.9', '--seed', seed, '--backend', 'cpu', '--json'));
    const a = run('5');
    expect(run('5').generated_ids).toEqual(a.generated_ids);
    expect(run('6').generated_ids).not.toEqual(a.generated_ids);
  });

  it('a bad parameter is a clear error and a non-zero exit, not a stack trace', () => {
    let stderr = '';
    try {
      folio('generate', '--model', out, '--prompt', 'x', '--temperature=-1', '--backend', 'cpu');
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(stderr).toMatch(/InvalidParamsError: temperature: must be a finite number >= 0/);
    expect(stderr).not.toMatch(/at .*\.ts:/);
  });
});
