// Folio as a dependency, as a new user gets it: `npm pack` (which builds the package through
// prepack), the tarball installed into a fresh create-vite vanilla-ts app (e2e/consumer-app,
// its own strict tsconfig, vite and typescript as its own dev dependencies), `tsc && vite
// build`, `vite preview`, and greedy text in Chromium, then the same under `vite` dev on a cold
// dependency cache; then `npx folio generate` from the installed package. The app's packages
// come from npm's cache where it has them (--prefer-offline), else from the registry; Folio
// itself fetches nothing at run time (the page is watched for requests elsewhere).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, ROOT, SHARED } from '../test/paths.ts';
import { dirBytes, installedPackages, installScripts } from './packageInstall.ts';
import { freePort } from './pythonServer.ts';
import { openPage } from './session.ts';

const fixture = JSON.parse(readFileSync(`${SHARED}/fixtures/stories260K-greedy.json`, 'utf8')) as { next_ids: number[]; text: string; prompt: string };
/** The fixture's prompt is four tokens after BOS; the rest of its ids are the greedy choices. */
const MAX_TOKENS = fixture.next_ids.length - 4;
const MB = 1024 * 1024;
const NPM = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

const sh = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

async function waitForServer(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered on port ${port}`);
}

describe('Folio as an npm dependency of a fresh Vite app', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'folio-package-'));
  const app = join(tmp, 'app');
  let tarball = '';
  let before: Set<string>;
  let bytesBefore = 0;
  let preview: ChildProcess | undefined;

  beforeAll(() => {
    // npm pack runs prepack: the library build into dist-lib/.
    mkdirSync(join(tmp, 'pack'));
    sh('npm', ['pack', '--pack-destination', join(tmp, 'pack'), '--loglevel=error'], ROOT);
    tarball = join(tmp, 'pack', readdirSync(join(tmp, 'pack')).find((f) => f.endsWith('.tgz'))!);
    cpSync(resolve(ROOT, 'e2e/consumer-app'), app, { recursive: true });
    // The app serves the model from its public/ folder, as a user would put it there.
    cpSync(DEFAULT_MODEL, join(app, 'public/models/stories260K'), { recursive: true });
    // The project's own versions of vite and typescript, whose tarballs its `npm ci` cached.
    const version = (name: string) => (JSON.parse(readFileSync(resolve(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    sh('npm', ['install', ...NPM, '--save-dev', `vite@${version('vite')}`, `typescript@${version('typescript')}`], app);
    before = new Set(installedPackages(join(app, 'node_modules')));
    bytesBefore = dirBytes(join(app, 'node_modules'));
    sh('npm', ['install', ...NPM, tarball], app);
  }, 300_000);

  afterAll(() => {
    preview?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the builds and the default model, and no sources, tests, e2e or bench', () => {
    const files = sh('tar', ['-tzf', tarball], tmp).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/folio.mjs', 'dist-lib/index.js', 'dist-lib/engine.worker.js', 'dist-lib/folio.js', 'dist-lib/cli/main.js', 'dist-lib/types/api/index.d.ts', 'models/stories260K/model.safetensors']));
    expect(files.filter((f) => /^(src|test|e2e|scripts|workers|wgsl|examples)\//.test(f) || /bench/.test(f))).toEqual([]);
    // The worker is started in the one form Vite, webpack 5 and esbuild-based bundlers all follow.
    const api = readFileSync(join(app, 'node_modules/folio/dist-lib/index.js'), 'utf8');
    expect(api).toMatch(/new Worker\(new URL\(["']\.\/engine\.worker\.js["'], import\.meta\.url\), \{\s*type: "module"/);
  });

  it('adds at most 25 MB and no package with an install script', () => {
    const added = installedPackages(join(app, 'node_modules')).filter((p) => !before.has(p));
    expect(added.map((p) => p.slice(join(app, 'node_modules').length + 1)).sort()).toContain('folio');
    expect(added.flatMap((p) => installScripts(p).map((s) => `${p}: ${s}`))).toEqual([]);
    const addedBytes = dirBytes(join(app, 'node_modules')) - bytesBefore;
    console.log(`[package] the install added ${(addedBytes / MB).toFixed(1)} MB in ${added.length} packages: ${added.map((p) => p.split('node_modules/').pop()).join(', ')}`);
    expect(addedBytes).toBeLessThanOrEqual(25 * MB);
  });

  it('the app type-checks under its strict tsconfig and builds with no Folio-specific Vite settings', () => {
    sh(process.execPath, [join(app, 'node_modules/typescript/bin/tsc')], app);
    sh(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], app);
    const assets = readdirSync(join(app, 'dist/assets'));
    const worker = assets.find((f) => f.startsWith('engine.worker'));
    expect(worker, `a worker file among ${assets.join(', ')}`).toBeDefined();
    const kb = (f: string) => (statSync(join(app, 'dist/assets', f)).size / 1024).toFixed(0);
    console.log(`[package] the app's build: ${assets.map((f) => `${f} ${kb(f)} KB`).join(', ')}`);
  });

  it('vite preview serves the built app, which generates the fixture greedy text in Chromium, fetching nothing from elsewhere', async () => {
    const port = await freePort();
    preview = spawn(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: app, stdio: 'ignore' });
    const origin = `http://localhost:${port}`;
    await waitForServer(port);
    const s = await openPage('about:blank');
    try {
      const elsewhere: string[] = [];
      s.page.on('request', (r) => {
        if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) elsewhere.push(r.url());
      });

      await s.page.goto(`${origin}/?prompt=${encodeURIComponent(fixture.prompt)}&max_tokens=${MAX_TOKENS}`);
      await s.page.waitForSelector('#out[data-done=true], #out[data-error]', { timeout: 90_000 });
      expect(await s.page.getAttribute('#out', 'data-error')).toBeNull();
      expect(await s.page.getAttribute('#out', 'data-backend')).toBe('webgpu');
      expect(await s.page.innerText('#out')).toBe(fixture.text);
      expect(elsewhere).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('vite dev serves the app on a cold dependency cache, with the same greedy text', async () => {
    rmSync(join(app, 'node_modules/.vite'), { recursive: true, force: true });
    const port = await freePort();
    const dev = spawn(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: app, stdio: 'ignore' });
    try {
      await waitForServer(port);
      const s = await openPage(`http://localhost:${port}/?prompt=${encodeURIComponent(fixture.prompt)}&max_tokens=${MAX_TOKENS}`);
      try {
        await s.page.waitForSelector('#out[data-done=true], #out[data-error]', { timeout: 90_000 });
        expect(await s.page.getAttribute('#out', 'data-error')).toBeNull();
        expect(await s.page.innerText('#out')).toBe(fixture.text);
        expect(s.errors).toEqual([]);
      } finally {
        await s.close();
      }
    } finally {
      dev.kill();
    }
  });

  const folio = (...args: string[]) => sh('npx', ['--no', 'folio', 'generate', '--prompt', fixture.prompt, '--max-tokens', String(MAX_TOKENS), ...args], app);

  it.each(['cpu', 'webgpu'])('npx folio generate --backend %s runs from the installed package (its own JavaScript, its default model)', (backend) => {
    const r = JSON.parse(folio('--backend', backend, '--json')) as { prompt_ids: number[]; generated_ids: number[]; text: string };
    expect([...r.prompt_ids, ...r.generated_ids]).toEqual([1, ...fixture.next_ids]);
    expect(r.text).toBe(fixture.text);
  });

  it('without a Chromium, --backend webgpu says how to get one', () => {
    const run = spawnSync('npx', ['--no', 'folio', 'generate', '--backend', 'webgpu', '--prompt', 'x'], { cwd: app, encoding: 'utf8', env: { ...process.env, FOLIO_CHROMIUM: join(tmp, 'no-chromium') } });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/WebGpuUnavailableError: FOLIO_CHROMIUM is .*no-chromium, which does not exist\. Install one \(Debian\/Ubuntu: `sudo apt-get install chromium`/);
  });

  it('npx folio generate prints the text as it streams, without a `<s>` for the prompt\'s BOS', () => {
    expect(folio('--backend', 'cpu')).toBe(`${fixture.text}\n`);
  });
});
