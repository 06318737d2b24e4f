import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../paths.ts';

describe('examples/script-tag/folio.js', () => {
  const out = mkdtempSync(join(tmpdir(), 'folio-embed-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  // The example works with nothing built, so it carries a built folio.js: this fails when the
  // sources changed and `npm run build:embed` was not run (the build is deterministic). The
  // build runs as `npm run build:embed` does, in its own process: vitest's environment
  // (NODE_ENV=test and its own resolve conditions) would change what gets bundled.
  it('is what `npm run build:embed` builds from the current sources', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV' && k !== 'TEST'));
    execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'vite.embed.config.ts', '--outDir', out, '--logLevel', 'silent'], { cwd: ROOT, env });
    const fresh = readFileSync(join(out, 'folio.js'), 'utf8');
    const committed = readFileSync(join(ROOT, 'examples', 'script-tag', 'folio.js'), 'utf8');
    expect(committed.length, 'run `npm run build:embed`').toBe(fresh.length);
    expect(committed === fresh, 'run `npm run build:embed`').toBe(true);
  });
});
