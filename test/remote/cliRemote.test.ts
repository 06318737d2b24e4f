import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { cpuEngine } from '../engine/engineHarness.ts';
import { folioServer } from './folioServer.ts';
import type { TestServer } from './httpServer.ts';

/** The CLI's entry in this process (a child process would spend seconds compiling it), its output captured. */
async function folio(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const capture = (to: 'stdout' | 'stderr') => vi.spyOn(process[to], 'write').mockImplementation((chunk: string | Uint8Array) => ((out[to] += String(chunk)), true));
  const spies = [capture('stdout'), capture('stderr')];
  try {
    return { code: await main(args), ...out };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

describe('folio generate --remote', () => {
  let server: TestServer;
  let local: string;
  beforeAll(async () => {
    const { api } = await cpuEngine();
    server = await folioServer(api, 'stories260K', { apiKey: 'sk-cli' });
    local = (await api.completions.create({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 })).choices[0].text;
  });
  afterAll(() => server.close());

  it("prints the server's greedy continuation, the same as the local engine's, with its usage", async () => {
    const r = await folio('generate', '--remote', server.baseURL, '--api-key', 'sk-cli', '--prompt', 'Once upon a time', '--max-tokens', '12', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { model: string; completion: string; text: string; usage: { completion_tokens: number } };
    expect(out.model).toBe('stories260K');
    expect(out.completion).toBe(local);
    expect(out.text).toBe(`Once upon a time${local}`);
    expect(out.usage.completion_tokens).toBe(12);
  });

  it('a missing key, an unknown model and a local-only option are typed errors, exit code 2 or 1', async () => {
    vi.stubEnv('FOLIO_API_KEY', '');
    const noKey = await folio('generate', '--remote', server.baseURL, '--prompt', 'x');
    expect([noKey.code, noKey.stderr]).toEqual([2, expect.stringMatching(/^folio: AuthError: .*401/)]);
    const model = await folio('generate', '--remote', server.baseURL, '--api-key', 'sk-cli', '--model', 'llama-70b', '--prompt', 'x');
    expect([model.code, model.stderr]).toEqual([2, expect.stringMatching(/ConfigError: .*"llama-70b".*"stories260K"/)]);
    const weights = await folio('generate', '--remote', server.baseURL, '--weights', 'q4_0', '--prompt', 'x');
    expect([weights.code, weights.stderr]).toEqual([1, expect.stringMatching(/--weights/)]);
    vi.unstubAllEnvs();
  });
});
