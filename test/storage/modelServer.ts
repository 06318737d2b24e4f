import { readFileSync, statSync } from 'node:fs';
import { createServer, type ServerResponse, type Server } from 'node:http';
import { join } from 'node:path';

export interface LoggedRequest {
  method: string;
  file: string;
  range: string | null;
  status: number;
  /** Body bytes written (less than asked when the response was cut). */
  bytes: number;
}

export interface ModelServer {
  /** The Hugging Face style endpoint, e.g. http://127.0.0.1:1234 */
  endpoint: string;
  /** `${endpoint}/{repo}/resolve/{revision}` */
  modelUrl: string;
  /** The URL of another repository name served from the same folder (a separate cache entry). */
  urlFor(repo: string): string;
  log: LoggedRequest[];
  /** The next GET of `file` stops after `bytes` body bytes (the connection is destroyed). */
  cutNext(file: string, bytes: number): void;
  /** Answer Range requests with a whole 200 (a server without range support). */
  ignoreRanges: boolean;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Hugging Face Hub: serves a model folder at
 * `/{repo}/resolve/{revision}/{file}` on 127.0.0.1 with CORS (another origin than the page),
 * single byte ranges (206), ETags and a request log; it can cut a response half-way.
 */
export async function startModelServer(folder: string, repo = 'folio-test/stories260K', revision = 'main'): Promise<ModelServer> {
  const cuts = new Map<string, number>();
  const log: LoggedRequest[] = [];
  // Any "/{org}/{name}/resolve/{revision}/" serves the folder, so tests can use fresh cache keys.
  const route = /^\/[\w.-]+\/[\w.-]+\/resolve\/[\w.-]+\/(.+)$/;
  const state = { ignoreRanges: false };
  const server: Server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-Range');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Accept-Ranges');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const file = route.exec(path)?.[1] ?? path;
    const entry: LoggedRequest = { method, file, range: req.headers.range ?? null, status: 0, bytes: 0 };
    if (method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return;
    }
    log.push(entry);
    let body: Buffer;
    try {
      if (!route.test(path) || file.includes('..') || !statSync(join(folder, file)).isFile()) throw new Error('missing');
      body = readFileSync(join(folder, file));
    } catch {
      entry.status = res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', `"${body.length.toString(16)}-${file.length}"`);
    let start = 0;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !state.ignoreRanges) {
      start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) {
        entry.status = res.statusCode = 416;
        res.setHeader('Content-Range', `bytes */${body.length}`);
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${body.length}`);
      body = body.subarray(start, end + 1);
    } else {
      res.statusCode = 200;
    }
    entry.status = res.statusCode;
    res.setHeader('Content-Length', String(body.length));
    res.setHeader('Content-Type', 'application/octet-stream');
    if (method === 'HEAD') {
      res.end();
      return;
    }
    const cut = cuts.get(file);
    if (cut !== undefined && cut < body.length) {
      cuts.delete(file);
      entry.bytes = cut;
      res.flushHeaders();
      // Break the connection only once the page has had time to read what was sent: Chromium
      // drops body bytes still in its pipe when the error arrives, so on a busy machine an
      // early cut would lose a varying tail and the test would measure the load, not the resume.
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 500));
      return;
    }
    entry.bytes = body.length;
    sendPaced(res, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    modelUrl: `${endpoint}/${repo}/resolve/${revision}`,
    log,
    urlFor: (r) => `${endpoint}/${r}/resolve/${revision}`,
    cutNext: (file, bytes) => cuts.set(file, bytes),
    get ignoreRanges() {
      return state.ignoreRanges;
    },
    set ignoreRanges(v: boolean) {
      state.ignoreRanges = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Sends a body in 64 KiB pieces a few milliseconds apart, as a network would, so that a
 * page sees a download progress in steps instead of one loopback burst.
 */
function sendPaced(res: ServerResponse, body: Uint8Array, piece = 64 * 1024): void {
  let at = 0;
  const next = (): void => {
    if (res.destroyed) return;
    const end = Math.min(at + piece, body.length);
    const last = end === body.length;
    const chunk = body.subarray(at, end);
    at = end;
    if (last) res.end(chunk);
    else res.write(chunk, () => setTimeout(next, 2));
  };
  next();
}
