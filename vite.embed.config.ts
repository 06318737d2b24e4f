import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';
import { hasSideEffects } from './vite.config.ts';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

// The script-tag build: one IIFE, `folio.js`, with the engine worker inlined (as a string, run
// from a blob URL), so a
// page needs nothing but `<script src="folio.js"></script>` and a static server.
// `npm run build:embed` writes it to examples/script-tag/, where it is committed.

/**
 * folio.js always hands createEngine its inlined worker (src/embed/index.ts), so the module
 * API's default `new Worker(new URL(..., import.meta.url))` is dead code here; left in, it would
 * emit a second copy of the worker as a file, and `import.meta` has no meaning in an IIFE.
 */
function dropDefaultWorker(): Plugin {
  const pattern = /new Worker\(\s*new URL\([^)]*import\.meta\.url\)\s*,\s*\{[^}]*\}\s*\)/;
  return {
    name: 'folio-drop-default-worker',
    enforce: 'pre',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').endsWith('/src/api/createEngine.ts')) return null;
      if (!pattern.test(code)) {
        this.warn('createEngine.ts no longer has the expected default worker; folio.js may carry a second worker file');
        return null;
      }
      return code.replace(pattern, "(() => { throw new Error('folio.js: no worker'); })()");
    },
  };
}

/**
 * The same for shared engines: folio.js hands startShared its own SharedWorker (folio.js itself,
 * src/embed/sharedEngineWorker.ts), so the module API's default, a second bundle, is dropped.
 */
function dropDefaultSharedWorker(): Plugin {
  const pattern = /new SharedWorker\(\s*new URL\([^)]*import\.meta\.url\)\s*,\s*\{[^}]*\}\s*\)/;
  return {
    name: 'folio-drop-default-shared-worker',
    enforce: 'pre',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').endsWith('/src/shared/startShared.ts')) return null;
      if (!pattern.test(code)) {
        this.warn('startShared.ts no longer has the expected default SharedWorker; folio.js may carry a second worker file');
        return null;
      }
      return code.replace(pattern, "(() => { throw new Error('folio.js: no default SharedWorker'); })()");
    },
  };
}

const ALIAS = { 'onnxruntime-web': resolve(ROOT, 'src/embed/onnxStub.ts') };

/**
 * `virtual:folio-engine-worker-source`: the engine worker bundled into one ES module, as a
 * string. src/embed/engineWorker.ts makes the worker from it itself, rather than through Vite's
 * `?worker&inline` wrapper, because a page that requires Trusted Types refuses a plain string
 * as a worker URL: Folio passes it through its own policy, and names what to allow if refused.
 */
function workerSource(): Plugin {
  const ID = 'virtual:folio-engine-worker-source';
  return {
    name: 'folio-engine-worker-source',
    resolveId: (id) => (id === ID ? `\0${ID}` : null),
    async load(id) {
      if (id !== `\0${ID}`) return null;
      const out = await build({
        configFile: false,
        logLevel: 'silent',
        publicDir: false,
        resolve: { alias: ALIAS },
        build: {
          write: false,
          // A worker has no document to preload into (Vite's own worker builds turn it off too).
          modulePreload: false,
          target: 'es2022',
          minify: true,
          // Not lib mode, which leaves an ES module's whitespace unminified.
          // Its exports kept: folio.js, as a shared engine's SharedWorker, imports the module's `api`.
          rolldownOptions: { input: resolve(ROOT, 'workers/engine.worker.ts'), preserveEntrySignatures: 'exports-only', output: { format: 'es', codeSplitting: false }, treeshake: { moduleSideEffects: hasSideEffects } },
        },
      });
      const chunks = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : [])).filter((c) => c.type === 'chunk');
      if (chunks.length !== 1) this.error(`the engine worker bundled into ${chunks.length} chunks, not one`);
      for (const file of chunks[0].moduleIds) this.addWatchFile(file);
      return `export default ${JSON.stringify(chunks[0].code)};`;
    },
  };
}

/** The example serves the default model beside folio.js: models/stories260K (1 MB, committed). */
function copyDefaultModel(): Plugin {
  return {
    name: 'folio-example-model',
    apply: 'build',
    closeBundle() {
      const from = resolve(ROOT, 'models/stories260K');
      if (existsSync(from)) cpSync(from, resolve(ROOT, 'examples/script-tag/models/stories260K'), { recursive: true });
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [dropDefaultWorker(), dropDefaultSharedWorker(), workerSource(), copyDefaultModel()],
  resolve: { alias: ALIAS },
  build: {
    target: 'es2022',
    outDir: resolve(ROOT, 'examples/script-tag'),
    emptyOutDir: false,
    copyPublicDir: false,
    minify: true,
    lib: {
      entry: resolve(ROOT, 'src/embed/index.ts'),
      name: 'Folio',
      formats: ['iife'],
      fileName: () => 'folio.js',
    },
  },
});
