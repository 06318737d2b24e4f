import { FolioError, InvalidParamsError, ModelFormatError, NetworkError } from '../errors.ts';
import { isHtmlPage } from './htmlPage.ts';

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
}

/** `source`, read as the single GGUF file `file` within it. */
export function ggufSource(source: ModelSource, file: string): ModelSource {
  checkFileName(file);
  return {
    describe: () => `${source.describe()}, file ${file}`,
    fetchFile: (name) => source.fetchFile(name),
    fetchJson: (name) => source.fetchJson(name),
    ...(source.has ? { has: (name: string) => source.has!(name) } : {}),
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
  if (isHtmlPage(bytes)) {
    throw new ModelFormatError(
      name,
      `${source.describe()} answered with an HTML page, not this file: the file is missing and the server sends its index.html instead`,
    );
  }
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
