import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type PluginOption, type ViteDevServer } from 'vite';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The headers that make a page cross-origin isolated, so that it may share memory with its workers. */
export const CROSS_ORIGIN_ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } as const;

/**
 * Serves the repository (sources through Vite, `models/` as static files) on localhost:
 * WebGPU exists only in a secure context, and http://localhost is one. `plugins` are added to
 * the config's (e.g. a middleware serving a model folder from outside the repository).
 */
export async function startDevServer(opts: { plugins?: PluginOption[] } = {}): Promise<{ url: string; server: ViteDevServer }> {
  const server = await createServer({
    root: ROOT,
    configFile: resolve(ROOT, 'vite.config.ts'),
    plugins: opts.plugins,
    logLevel: 'error',
    // Cross-origin isolation (SharedArrayBuffer): the CPU backend's WebAssembly matmuls then run on a pool of workers.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, headers: CROSS_ORIGIN_ISOLATION },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('the dev server has no TCP address');
  return { url: `http://localhost:${address.port}`, server };
}
