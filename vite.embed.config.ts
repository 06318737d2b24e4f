import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

// The script-tag build: one IIFE, `folio.js`, with the engine worker inlined (a blob URL), so a
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
  plugins: [dropDefaultWorker(), copyDefaultModel()],
  resolve: {
    alias: { 'onnxruntime-web': resolve(ROOT, 'src/embed/onnxStub.ts') },
  },
  worker: {
    format: 'es',
    rolldownOptions: { output: { codeSplitting: false } },
  },
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
