import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { app: resolve(fileURLToPath(new URL('.', import.meta.url)), 'index.html') },
    },
  },
  // A multi-page app: unknown paths are 404s, not index.html (model files are probed by name).
  appType: 'mpa',
  worker: { format: 'es' },
  server: { fs: { strict: false } },
});
