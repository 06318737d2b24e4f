import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';
import { hasSideEffects } from './vite.config.ts';
import embedConfig from './vite.embed.config.ts';

// The package build (`npm run build:lib`, run by `prepack`): everything a consumer installs is
// built into dist-lib/, dependencies bundled in, so that `npm install folio` brings no
// @xenova/transformers (with its sharp and onnxruntime) and runs no install scripts.
//   dist-lib/index.js          the createEngine API (ESM), types under dist-lib/types/
//   dist-lib/engine.worker.js  its worker, one self-contained ES module
//   dist-lib/folio.js          the script-tag build (vite.embed.config.ts, built here again)
//   dist-lib/cli/              the CLI for Node (bin/folio.mjs), and the page it runs WebGPU in

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const OUT = resolve(ROOT, 'dist-lib');
/** transformers.js' tokenizers touch ONNX runtime's `env` at load time and nothing more. */
const ONNX_STUB = resolve(ROOT, 'src/embed/onnxStub.ts');
const ALIAS = { 'onnxruntime-web': ONNX_STUB, 'onnxruntime-node': ONNX_STUB };
const WORKER_FILE = 'engine.worker.js';
const PLACEHOLDER = '__FOLIO_ENGINE_WORKER_URL__';
/** The SharedWorker of `createEngine({ shared: true })` (src/shared/), shipped the same way. */
const SHARED_WORKER_FILE = 'shared.worker.js';
const SHARED_PLACEHOLDER = '__FOLIO_SHARED_WORKER_URL__';

/**
 * The shipped createEngine must start its worker as `new Worker(new URL('./engine.worker.js',
 * import.meta.url), {type: 'module'})`, the one pattern Vite, webpack 5 and esbuild-based tools
 * all follow. Vite's own worker plugin would rewrite that pattern in this build (to an asset
 * path of its choosing), so the URL is hidden behind a placeholder while bundling and written
 * back into the finished chunk.
 */
function packagedWorkerUrl(): Plugin {
  const source = /new URL\(\s*'\.\.\/\.\.\/workers\/engine\.worker\.ts'\s*,\s*import\.meta\.url\s*\)/;
  return {
    name: 'folio-packaged-worker-url',
    enforce: 'pre',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').endsWith('/src/api/createEngine.ts')) return null;
      if (!source.test(code)) this.error('createEngine.ts no longer starts workers/engine.worker.ts by URL: update vite.lib.config.ts');
      return code.replace(source, PLACEHOLDER);
    },
    renderChunk(code) {
      if (!code.includes(PLACEHOLDER)) return null;
      return code.replace(PLACEHOLDER, `new URL('./${WORKER_FILE}', import.meta.url)`);
    },
  };
}

/** The same for the SharedWorker that src/shared/startShared.ts starts. */
function packagedSharedWorkerUrl(): Plugin {
  const source = /new URL\(\s*'\.\/shared\.worker\.ts'\s*,\s*import\.meta\.url\s*\)/;
  return {
    name: 'folio-packaged-shared-worker-url',
    enforce: 'pre',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').endsWith('/src/shared/startShared.ts')) return null;
      if (!source.test(code)) this.error('startShared.ts no longer starts ./shared.worker.ts by URL: update vite.lib.config.ts');
      return code.replace(source, SHARED_PLACEHOLDER);
    },
    renderChunk(code) {
      if (!code.includes(SHARED_PLACEHOLDER)) return null;
      return code.replace(SHARED_PLACEHOLDER, `new URL('./${SHARED_WORKER_FILE}', import.meta.url)`);
    },
  };
}

/** The engine worker (or the shared one): one ES module with every dependency in it. */
async function buildWorker(input = 'workers/engine.worker.ts', file = WORKER_FILE): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    resolve: { alias: ALIAS },
    build: {
      outDir: OUT,
      emptyOutDir: false,
      modulePreload: false,
      target: 'es2022',
      minify: true,
      rolldownOptions: {
        input: resolve(ROOT, input),
        output: { format: 'es', codeSplitting: false, entryFileNames: file },
        treeshake: { moduleSideEffects: hasSideEffects },
      },
    },
  });
}

/**
 * The script-tag build, as `npm run build:embed` makes it, written into the package. Without
 * its plugin that copies the model into examples/script-tag/: that folder is not the package's,
 * and tests may be reading it meanwhile.
 */
async function buildEmbed(): Promise<void> {
  const plugins = (embedConfig.plugins ?? []).filter((p) => !(p && typeof p === 'object' && 'name' in p && p.name === 'folio-example-model'));
  await build({ ...embedConfig, configFile: false, logLevel: 'warn', plugins, build: { ...embedConfig.build, outDir: OUT, emptyOutDir: false } });
}

/**
 * The page `folio generate --backend webgpu` opens in Chromium, prebuilt: an installed package
 * has no Vite dev server to compile src/cli/generatePage.ts on the fly.
 */
async function buildCliPage(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: resolve(ROOT, 'src/cli'),
    base: './',
    publicDir: false,
    resolve: { alias: ALIAS },
    build: {
      outDir: resolve(OUT, 'cli/page'),
      emptyOutDir: false,
      target: 'es2022',
      rolldownOptions: { input: resolve(ROOT, 'src/cli/generatePage.html'), treeshake: { moduleSideEffects: hasSideEffects } },
    },
  });
}

/**
 * The CLI for Node, dependencies bundled in, except playwright-core (the package's one runtime
 * dependency, for the WebGPU backend). Its WebGPU runner is swapped for one that serves the
 * prebuilt page with a plain HTTP server: the repository's runner needs Vite at run time.
 * dist-lib/cli/main.js sits two folders down, where src/cli/defaultModel.ts expects to find
 * `models/stories260K` two folders up: the package ships the model there.
 */
async function buildCli(): Promise<void> {
  const swapBrowserRunner: Plugin = {
    name: 'folio-packaged-browser-runner',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source !== './generateInBrowser.ts' || !importer?.replace(/\\/g, '/').includes('/src/cli/')) return null;
      return resolve(ROOT, 'bin/packaged/generateInBrowser.ts');
    },
  };
  await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    plugins: [swapBrowserRunner],
    resolve: { alias: ALIAS },
    ssr: { noExternal: true, external: ['playwright-core'] },
    build: {
      ssr: resolve(ROOT, 'src/cli/main.ts'),
      outDir: resolve(OUT, 'cli'),
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      rolldownOptions: { output: { format: 'es', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js' } },
    },
  });
}

/**
 * `.d.ts` files by tsc (tsconfig.lib.json). tsc keeps the sources' `.ts` import specifiers in
 * declarations; a consumer's tsc without `allowImportingTsExtensions` would refuse them, so
 * they become `.js`, which TypeScript maps to the `.d.ts` beside them.
 */
function buildTypes(): void {
  execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', resolve(ROOT, 'tsconfig.lib.json')], { stdio: 'inherit' });
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
  for (const file of walk(resolve(OUT, 'types')).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(file, 'utf8');
    const fixed = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2');
    if (fixed !== text) writeFileSync(file, fixed);
  }
}

/** After the API's own bundle: the other parts of the package, in order. */
function restOfPackage(): Plugin {
  return {
    name: 'folio-rest-of-package',
    apply: 'build',
    async closeBundle() {
      await buildWorker();
      await buildWorker('src/shared/shared.worker.ts', SHARED_WORKER_FILE);
      await buildEmbed();
      await buildCliPage();
      await buildCli();
      buildTypes();
      for (const file of [WORKER_FILE, SHARED_WORKER_FILE]) if (!existsSync(resolve(OUT, file))) throw new Error(`dist-lib/${file} was not written`);
    },
  };
}

/** The package ships the default model from models/ (package.json `files`): made by `npm run setup`. */
function defaultModel(): Plugin {
  return {
    name: 'folio-package-model',
    apply: 'build',
    buildStart() {
      if (!existsSync(resolve(ROOT, 'models/stories260K/config.json'))) this.error('models/stories260K is missing: run `npm run setup` first');
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [packagedWorkerUrl(), packagedSharedWorkerUrl(), defaultModel(), restOfPackage()],
  resolve: { alias: ALIAS },
  build: {
    target: 'es2022',
    outDir: OUT,
    emptyOutDir: true,
    copyPublicDir: false,
    // A library: the consumer's bundler minifies (and reads this code when something fails).
    minify: false,
    lib: { entry: resolve(ROOT, 'src/api/index.ts'), formats: ['es'], fileName: () => 'index.js' },
    rolldownOptions: { treeshake: { moduleSideEffects: hasSideEffects } },
  },
});
