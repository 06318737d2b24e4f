import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvOptions } from '../../src/cli/kvOptions.ts';
import { InvalidParamsError } from '../../src/errors.ts';
import { ROOT } from '../paths.ts';

const folio = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin', 'folio.mjs'), ...args], { encoding: 'utf8' });

describe('folio generate --kv-budget', () => {
  it('goes past the 512-token context of stories260K in a 64-token window, holding at most budget + one block', () => {
    const r = JSON.parse(folio('generate', '--backend', 'cpu', '--prompt', 'Once upon a time', '--max-tokens', '560', '--kv-budget', '64', '--kv-policy', 'window', '--ignore-eos', '--json'));
    expect(r.generated_ids).toHaveLength(560);
    expect(r.kv.peakTokensHeld).toBeGreaterThan(0);
    expect(r.kv.peakTokensHeld).toBeLessThanOrEqual(64 + 16);
    expect(r.kv.evictedTokens).toBeGreaterThanOrEqual(r.prompt_ids.length + 560 - 1 - 80);
  }, 60_000);

  it('reads the flags into the request, refusing bad ones by name', () => {
    expect(kvOptions(undefined, undefined, false)).toBeUndefined();
    expect(kvOptions('256', undefined, false)).toEqual({ budgetTokens: 256, policy: undefined, overflow: 'shift' });
    expect(kvOptions(undefined, undefined, true)).toEqual({ budgetTokens: undefined, policy: undefined, overflow: 'shift' });
    expect(kvOptions('256', 'window', false)?.policy).toBe('window');
    expect(() => kvOptions('many', undefined, false)).toThrow(InvalidParamsError);
    expect(() => kvOptions('256', 'lru', false)).toThrow(/kv-policy/);
    expect(() => kvOptions(undefined, 'window', false)).toThrow(/needs --kv-budget/);
  });
});
