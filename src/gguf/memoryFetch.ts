/**
 * A `fetch` that answers HTTP Range requests from bytes already in memory. @huggingface/gguf
 * reads a header through ranged fetches of a URL; Folio has the file's bytes (from its own
 * download and IndexedDB cache, or a local file), so the parser is served from those: no second
 * download, and it works the same in Node, a page and a worker.
 */
export function memoryFetch(bytes: Uint8Array): typeof fetch {
  return async (_input, init) => {
    const range = new Headers(init?.headers).get('Range');
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    const start = m ? Math.min(Number(m[1]), bytes.length) : 0;
    const end = m && m[2] !== '' ? Math.min(Number(m[2]) + 1, bytes.length) : bytes.length;
    const body = bytes.slice(start, Math.max(start, end));
    const headers = { 'Content-Range': `bytes ${start}-${Math.max(start, end) - 1}/${bytes.length}`, 'Content-Length': String(body.length) };
    return new Response(body, { status: m ? 206 : 200, headers });
  };
}
