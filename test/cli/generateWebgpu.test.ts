import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, ROOT, SHARED } from '../paths.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[]; text: string; prompt: string };
const run = promisify(execFile);
const folio = async (...args: string[]) => (await run(process.execPath, [join(ROOT, 'bin', 'folio.mjs'), ...args], { encoding: 'utf8' })).stdout;

// `folio generate` on WebGPU (the default backend): the loop runs in headless Chromium.
describe('folio generate --backend webgpu', () => {
  // A model folder outside the repository, which the dev server serves through its own route.
  const outside = mkdtempSync(join(tmpdir(), 'folio-model-'));
  cpSync(DEFAULT_MODEL, outside, { recursive: true });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it('is the default, and greedy --json reproduces the llama2.c fixture, ids and text', async () => {
    const maxTokens = fixture.next_ids.length - 4; // the prompt is four tokens after BOS
    const r = JSON.parse(await folio('generate', '--prompt', fixture.prompt, '--max-tokens', String(maxTokens), '--json'));
    expect([...r.prompt_ids, ...r.generated_ids]).toEqual([1, ...fixture.next_ids]);
    expect(r.text).toBe(fixture.text);
    expect(r.text).toBe(fixture.prompt + r.completion);
  });

  it('prints exactly what --backend cpu prints: seeded sampling (temperature 0.8, seed 3, 30 tokens), streamed and --json', async () => {
    const args = ['generate', '--model', outside, '--prompt', 'Lily', '--max-tokens', '30', '--temperature', '0.8', '--seed', '3'];
    // One Chromium at a time: the machines running this have few cores.
    const gpuText = await folio(...args, '--backend', 'webgpu');
    const gpuJson = await folio(...args, '--backend', 'webgpu', '--json');
    const [cpuText, cpuJson] = await Promise.all([folio(...args, '--backend', 'cpu'), folio(...args, '--backend', 'cpu', '--json')]);
    expect(gpuText).toBe(cpuText);
    expect(gpuJson).toBe(cpuJson);
    const r = JSON.parse(gpuJson);
    expect(r.generated_ids).toHaveLength(30);
    expect(gpuText).toContain(r.completion);
  });

  it('a model that is not there is a clear error, not a stack trace', async () => {
    const err = await folio('generate', '--model', join(outside, 'missing'), '--prompt', 'x').then(
      () => null,
      (e: { stderr: string; code: number }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/ModelFormatError: config.json: not found in folder/);
  });
});
