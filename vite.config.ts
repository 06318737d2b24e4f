import { cpSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AliasOptions, defineConfig, type Plugin } from 'vite';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/**
 * A build serves the models beside the app: `models/` (made by `npm run setup`) is copied to
 * `dist/models/`, so `dist/` alone is a complete static site (the app loads `./models/stories260K`).
 */
function copyModels(): Plugin {
  let outDir = 'dist';
  return {
    name: 'folio-copy-models',
    apply: 'build',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    closeBundle() {
      const from = resolve(ROOT, 'models');
      if (existsSync(from)) cpSync(from, resolve(outDir, 'models'), { recursive: true });
    },
  };
}

/**
 * For tree-shaking: @huggingface/gguf imports a few constants from @huggingface/tasks' index,
 * whose modules are pure though its package.json does not say so; without this a worker
 * carries all of that package (about 220 KB).
 */
export const hasSideEffects = (id: string): boolean => !/[\\/]node_modules[\\/]@huggingface[\\/]tasks[\\/]/.test(id);

export default defineConfig(({ command }) => ({
  // Relative asset URLs: the build works from any folder of a static server.
  base: command === 'build' ? './' : '/',
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { app: resolve(ROOT, 'index.html') },
    },
  },
  resolve: {
    // Builds only: the tokenizer module touches onnxruntime-web's `env` and nothing else.
    alias: (command === 'build' ? { 'onnxruntime-web': resolve(ROOT, 'src/embed/onnxStub.ts') } : {}) as AliasOptions,
  },
  plugins: [copyModels()],
  // A multi-page app: unknown paths are 404s, not index.html (model files are probed by name).
  appType: 'mpa',
  worker: { format: 'es', rolldownOptions: { treeshake: { moduleSideEffects: hasSideEffects } } },
  optimizeDeps: {
    // Pre-bundle every dependency at start-up: one discovered later (say, first imported inside
    // the worker) makes the dev server re-optimize and reload the page in the middle of a run.
    include: ['comlink', 'idb-keyval', '@noble/hashes/sha2.js', '@xenova/transformers/src/tokenizers.js', '@huggingface/gguf'],
    entries: ['index.html', 'test/browser/*.html', 'src/cli/*.html', 'workers/*.ts'],
  },
  server: { fs: { strict: false } },
}));
