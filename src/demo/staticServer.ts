import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.wasm': 'application/wasm',
};

export interface ServeOptions {
  /**
   * Holds a file halfway: for a request whose path ends with `hold.suffix`, the first half of
   * the body is sent at once and the rest only when `hold.until` settles. The demo uses it to
   * photograph a load in progress without depending on how fast the machine is.
   */
  hold?: { suffix: string; until: Promise<unknown> };
}

/**
 * A tiny static file server on 127.0.0.1 (no configuration, no rewrites): what any static host
 * does for a built Folio app. Returns the URL on `localhost`, a secure context for WebGPU.
 */
export async function serveFolder(folder: string, opts: ServeOptions = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const root = resolve(folder);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    // COOP/COEP: cross-origin isolated, so the CPU backend may run its matmuls on a pool of workers.
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    const { hold } = opts;
    if (hold && path.endsWith(hold.suffix) && req.method === 'GET' && !req.headers.range) {
      const body = readFileSync(file);
      const half = body.length >> 1;
      res.write(body.subarray(0, half));
      void hold.until.finally(() => res.end(body.subarray(half)));
      return;
    }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the static server has no TCP address');
  return {
    url: `http://localhost:${address.port}/`,
    server,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
