import { FolioError, InvalidParamsError, ModelFormatError, NetworkError } from '../errors.ts';
import { isHtmlPage } from './htmlPage.ts';
import type { PackedTensor } from './weights.ts';

/** Where a model's files come from: a URL prefix, a Hugging Face repository, a local folder. */
export interface ModelSource {
  /** For messages: "https://huggingface.co/org/name (revision main)", "folder /models/x". */
  describe(): string;
  /** The whole file; a missing file is an error. */
  fetchFile(name: string): Promise<Uint8Array>;
  fetchJson(name: string): Promise<unknown>;
  /** Whether the file exists, without reading it. */
  has?(name: string): Promise<boolean>;
  /** Set when the model is one GGUF file among this source's files (its name); unset for a Hugging Face model. */
  readonly ggufFile?: string;
  /**
   * The file as it arrives, in order, so that a loader can keep what it needs and drop the rest
   * (a GGUF reader then never holds the whole file). A source without it is read whole (fileStream).
   */
  streamFile?(name: string): Promise<FileStream>;
  /** Where quantize-on-load results are kept, packed (an IndexedDB-cached source); absent: none kept. */
  readonly packedCache?: PackedWeightsCache;
}

/** One file's bytes in order, in chunks that the reader may keep or drop; `size` when known in advance. */
export interface FileStream {
  size: number | null;
  chunks: AsyncIterable<Uint8Array>;
}

/**
 * A store of quantize-on-load results (see storage/PackedStore.ts). `digest` answers with the
 * SHA-256 a file was checked against when it was stored, without reading it, so that a cached
 * result is found before any tensor file is read; null when the file is not stored.
 */
export interface PackedWeightsCache {
  digest(name: string): Promise<string | null>;
  get(key: string): Promise<PackedWeightsEntry | null>;
  put(key: string, entry: PackedWeightsEntry): Promise<void>;
}

/** A quantized model as stored: its 1-D f32 tensors, its packed 2-D weights, and its fingerprint. */
export interface PackedWeightsEntry {
  fingerprint: string;
  tensors: Map<string, Float32Array>;
  packed: Map<string, PackedTensor>;
}

/**
 * A file as a stream: the source's own stream where it has one, else the whole file as one chunk.
 * An HTML page where the file should be is refused as fetchRequired refuses it.
 */
export async function fileStream(source: ModelSource, name: string): Promise<FileStream> {
  if (!source.streamFile) {
    const bytes = await fetchRequired(source, name);
    return { size: bytes.length, chunks: (async function* () { yield bytes; })() };
  }
  const stream = await source.streamFile(name);
  return { size: stream.size, chunks: refuseHtml(source, name, stream.chunks) };
}

async function* refuseHtml(source: ModelSource, name: string, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const chunk of chunks) {
    if (first && chunk.length > 0) {
      first = false;
      if (isHtmlPage(chunk)) throw htmlInstead(source, name);
    }
    yield chunk;
  }
}

function htmlInstead(source: ModelSource, name: string): ModelFormatError {
  return new ModelFormatError(
    name,
    `${source.describe()} answered with an HTML page, not this file: the file is missing and the server sends its index.html instead`,
  );
}

/** `source`, read as the single GGUF file `file` within it. */
export function ggufSource(source: ModelSource, file: string): ModelSource {
  checkFileName(file);
  return {
    describe: () => `${source.describe()}, file ${file}`,
    fetchFile: (name) => source.fetchFile(name),
    fetchJson: (name) => source.fetchJson(name),
    ...(source.has ? { has: (name: string) => source.has!(name) } : {}),
    ...(source.streamFile ? { streamFile: (name: string) => source.streamFile!(name) } : {}),
    ...(source.packedCache ? { packedCache: source.packedCache } : {}),
    ggufFile: file,
  };
}

const GGUF_FILE = /\.gguf$/i;

/** An http(s) URL of one GGUF file, as its folder's URL and the file's name; null for any other spec. */
export function ggufUrl(spec: string): { folder: string; file: string } | null {
  if (!/^https?:\/\//i.test(spec)) return null;
  const url = new URL(spec);
  if (!GGUF_FILE.test(url.pathname)) return null;
  const cut = url.pathname.lastIndexOf('/');
  return { folder: `${url.origin}${url.pathname.slice(0, cut)}`, file: decodeURIComponent(url.pathname.slice(cut + 1)) };
}

/**
 * Refuses names that could leave the model's folder or URL prefix: shard names come from
 * an index file, which is data we did not write.
 */
export function checkFileName(name: string): void {
  const segments = name.split('/');
  if (name.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ModelFormatError(name, 'is not a relative file name inside the model');
  }
}

export function parseJsonFile(name: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ModelFormatError(name, `is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * A file the model needs. A server that answers a missing file with its index.html (status 200)
 * must not make that page look like a corrupt file: the content is checked, not only the status.
 */
export async function fetchRequired(source: ModelSource, name: string): Promise<Uint8Array> {
  const bytes = await source.fetchFile(name);
  if (isHtmlPage(bytes)) throw htmlInstead(source, name);
  return bytes;
}

/**
 * A file that may be absent (tokenizer files, the shard index): its bytes or null. A source
 * without `has` is asked for the file directly, and any Folio error reads as "absent"; an HTML
 * page in its place (a single-page-app fallback) is absent too.
 */
export async function fetchOptional(source: ModelSource, name: string): Promise<Uint8Array | null> {
  const bytes = await fetchIfThere(source, name);
  return bytes && !isHtmlPage(bytes) ? bytes : null;
}

async function fetchIfThere(source: ModelSource, name: string): Promise<Uint8Array | null> {
  if (source.has) return (await source.has(name)) ? source.fetchFile(name) : null;
  try {
    return await source.fetchFile(name);
  } catch (e) {
    if (e instanceof FolioError) return null;
    throw e;
  }
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
const REPO_ID = /^[\w.-]+(\/[\w.-]+)?$/;

/** Files fetched over HTTP(S) from `{baseUrl}/{file}`. */
export class UrlSource implements ModelSource {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly label = baseUrl,
    private readonly fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** A Hugging Face repository ("org/name") in the layout `{endpoint}/{repo}/resolve/{revision}/{file}`. */
  static huggingFace(repo: string, opts: { revision?: string; endpoint?: string } = {}): UrlSource {
    if (!REPO_ID.test(repo)) throw new InvalidParamsError('repo', `${JSON.stringify(repo)} is not a repository id like "org/name"`);
    const revision = opts.revision ?? 'main';
    const endpoint = (opts.endpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
    // A revision such as refs/pr/1 is one path segment on the Hub, so its slashes are escaped.
    const base = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}`;
    return new UrlSource(base, `${endpoint}/${repo} (revision ${revision})`);
  }

  url(name: string): string {
    checkFileName(name);
    return `${this.baseUrl}/${encodePath(name)}`;
  }

  describe(): string {
    return this.label;
  }

  async fetchFile(name: string): Promise<Uint8Array> {
    const url = this.url(name);
    const res = await this.request(url);
    if (!res.ok) throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new NetworkError(url, `download interrupted (${(e as Error).message})`);
    }
  }

  async fetchJson(name: string): Promise<unknown> {
    return parseJsonFile(name, await this.fetchFile(name));
  }

  /** The response body as it arrives; an interrupted body is a NetworkError naming the URL. */
  async streamFile(name: string): Promise<FileStream> {
    const url = this.url(name);
    const res = await this.request(url);
    if (!res.ok || !res.body) throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    const length = Number(res.headers.get('Content-Length') ?? NaN);
    // A compressed body's length is not the file's.
    const size = Number.isFinite(length) && !res.headers.get('Content-Encoding') ? length : null;
    const body = res.body;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const reader = body.getReader();
      try {
        for (;;) {
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (e) {
            throw new NetworkError(url, `download interrupted (${(e as Error).message})`);
          }
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    }
    return { size, chunks: chunks() };
  }

  async has(name: string): Promise<boolean> {
    const url = this.url(name);
    let res = await this.request(url, 'HEAD');
    // Some static hosts refuse HEAD; a GET whose body is dropped answers the same question.
    if (res.status === 405 || res.status === 501) {
      res = await this.request(url);
      await res.body?.cancel();
    }
    if (res.ok) return true;
    if (res.status === 404 || res.status === 410) return false;
    throw new NetworkError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  }

  private async request(url: string, method = 'GET'): Promise<Response> {
    try {
      return await this.fetchImpl(url, { method });
    } catch (e) {
      throw new NetworkError(url, `request failed (${(e as Error).message})`);
    }
  }
}

export interface OpenSourceOptions {
  /** Where `hf:` specs and huggingface.co URLs resolve; a mirror or a local test server. */
  hfEndpoint?: string;
}

/**
 * A source from what a user typed:
 * - `hf:org/name` or `hf:org/name@revision`: a Hugging Face repository;
 * - `https://huggingface.co/org/name` (optionally `/tree/{revision}`): the same;
 * - any other http(s) URL: a prefix the files sit under (e.g. `.../org/name/resolve/main`);
 * - anything else: a local folder (Node only; loaded lazily so browser bundles never pull in node:fs).
 * A spec ending in `.gguf` names one GGUF file: `hf:org/name@revision/file.gguf` (or without
 * `@revision`), a URL, or a local path; the source is its folder, with `ggufFile` set.
 */
export async function openSource(spec: string, opts: OpenSourceOptions = {}): Promise<ModelSource> {
  if (GGUF_FILE.test(spec.replace(/[?#].*$/, ''))) return openGgufFile(spec, opts);
  if (spec.startsWith('hf:')) {
    const [repo, revision] = spec.slice(3).replace(/^\/+/, '').split('@');
    return UrlSource.huggingFace(repo, { revision: revision || undefined, endpoint: opts.hfEndpoint });
  }
  if (/^https?:\/\//i.test(spec)) return urlSource(spec, opts);
  const { FolderSource } = await import('./FolderSource.ts');
  return new FolderSource(spec);
}

async function openGgufFile(spec: string, opts: OpenSourceOptions): Promise<ModelSource> {
  if (spec.startsWith('hf:')) {
    // org/name@revision/file.gguf: the revision is what follows '@' in the second segment
    const [org, nameAndRevision = '', ...file] = spec.slice(3).replace(/^\/+/, '').split('/');
    const [name, revision] = nameAndRevision.split('@');
    return ggufSource(UrlSource.huggingFace(`${org}/${name}`, { revision: revision || undefined, endpoint: opts.hfEndpoint }), file.join('/'));
  }
  const remote = ggufUrl(spec);
  if (remote) return ggufSource(new UrlSource(remote.folder), remote.file);
  const cut = Math.max(spec.lastIndexOf('/'), spec.lastIndexOf('\\'));
  const { FolderSource } = await import('./FolderSource.ts');
  return ggufSource(new FolderSource(cut < 0 ? '.' : spec.slice(0, cut) || '/'), spec.slice(cut + 1));
}

function urlSource(spec: string, opts: OpenSourceOptions): UrlSource {
  const url = new URL(spec);
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const onHub = url.hostname === 'huggingface.co' || url.hostname === 'hf.co';
  if (onHub && (parts.length === 2 || (parts.length >= 4 && parts[2] === 'tree'))) {
    const revision = parts.length >= 4 ? parts.slice(3).join('/') : undefined;
    return UrlSource.huggingFace(`${parts[0]}/${parts[1]}`, { revision, endpoint: opts.hfEndpoint ?? url.origin });
  }
  return new UrlSource(`${url.origin}${url.pathname}`);
}
