import { InvalidParamsError } from '../errors.ts';

/** Where a remote engine sends its requests: an OpenAI-compatible server (vLLM, llama.cpp's server, a proxy). */
export interface RemoteEndpoint {
  /** The API's root, e.g. `http://gpu-box:8000/v1` or a same-origin proxy's `/llm/v1` (relative URLs resolve against the page). */
  baseURL: string;
  /** The served model's name, as the server lists it at `/models` (vLLM: `--served-model-name`, or the model path). */
  model: string;
  /** Sent as `Authorization: Bearer`. A key in a page is readable by anyone who opens it: put it in a proxy (see README). */
  apiKey?: string;
  /** Headers for every request (a proxy's own). */
  headers?: Record<string, string>;
  /** A request that receives nothing for this long ends with NetworkError; 300000 (5 min) by default, 0 never. */
  idleTimeoutMs?: number;
  /** The fetch to use (the global one by default). */
  fetch?: typeof fetch;
}

export type ResolvedEndpoint = Required<Omit<RemoteEndpoint, 'apiKey'>> & Pick<RemoteEndpoint, 'apiKey'>;

/** Checks an endpoint's options and fills in the defaults; bad ones are InvalidParamsErrors naming the option. */
export function resolveEndpoint(e: RemoteEndpoint): ResolvedEndpoint {
  if (typeof e !== 'object' || e === null) throw new InvalidParamsError('remote', 'must be an object with baseURL and model');
  if (typeof e.baseURL !== 'string' || e.baseURL === '') throw new InvalidParamsError('baseURL', 'must be the server API\'s URL, e.g. http://localhost:8000/v1');
  let base: URL;
  try {
    base = new URL(e.baseURL, globalThis.location?.href);
  } catch {
    throw new InvalidParamsError('baseURL', `must be an absolute URL here (there is no page to resolve it against), got ${JSON.stringify(e.baseURL)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidParamsError('baseURL', `must be an http or https URL, got ${JSON.stringify(e.baseURL)}`);
  if (typeof e.model !== 'string' || e.model === '') throw new InvalidParamsError('model', "must be the served model's name, as the server's /models lists it");
  if (e.apiKey !== undefined && (typeof e.apiKey !== 'string' || e.apiKey === '')) throw new InvalidParamsError('apiKey', 'must be a non-empty string when given');
  const idle = e.idleTimeoutMs ?? 300_000;
  if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) throw new InvalidParamsError('idleTimeoutMs', `must be a number of milliseconds >= 0, got ${String(idle)}`);
  const fetchImpl = e.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchImpl !== 'function') throw new InvalidParamsError('fetch', 'there is no global fetch here: pass one');
  return { baseURL: base.href.replace(/\/+$/, ''), model: e.model, apiKey: e.apiKey, headers: { ...e.headers }, idleTimeoutMs: idle, fetch: fetchImpl };
}
