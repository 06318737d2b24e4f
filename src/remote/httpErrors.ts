import { AuthError, ConfigError, type FolioError, InvalidParamsError, NetworkError } from '../errors.ts';
import { isRecord } from '../api/paramChecks.ts';

/**
 * An OpenAI-style error, from any of the bodies servers send:
 * - vLLM today and OpenAI: `{"error": {"message", "type", "param", "code"}}` (vLLM's
 *   `ErrorResponse(error=ErrorInfo(...))`, vllm/entrypoints/openai/engine/protocol.py; its
 *   `code` is the HTTP status as a number, OpenAI's a string or null);
 * - vLLM before it nested them: `{"object": "error", "message", "type", "param", "code"}`;
 * - vLLM's API-key middleware (`AuthenticationMiddleware`, server_utils.py): `{"error": "Unauthorized"}`.
 */
export interface ErrorInfo {
  message: string;
  type: string | null;
  param: string | null;
  /** The HTTP status a streamed error stands for (vLLM's numeric `code`), where given. */
  status: number | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function errorInfo(body: unknown): ErrorInfo | null {
  if (!isRecord(body)) return null;
  const e = body.error;
  if (typeof e === 'string') return { message: e, type: null, param: null, status: null };
  const fields = isRecord(e) ? e : body.object === 'error' ? body : null;
  if (!fields) return null;
  return {
    message: str(fields.message) ?? JSON.stringify(body),
    type: str(fields.type),
    param: str(fields.param),
    status: typeof fields.code === 'number' && Number.isInteger(fields.code) ? fields.code : null,
  };
}

/**
 * Retry-After as seconds: a delay in seconds, or an HTTP date (RFC 9110 section 10.2.3).
 * Undefined when absent or unreadable.
 */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** vLLM's validation errors name a parameter by its place in the request (`body.temperature`). */
const paramName = (param: string | null): string => (param ?? 'params').replace(/^body\./, '');

export interface FailureContext {
  url: string;
  status: number;
  info: ErrorInfo | null;
  retryAfter?: number;
  /** Each choice's text so far, for a failure in the middle of a stream. */
  partialText?: string[];
}

/**
 * Folio's typed error for a server's refusal: 400 (and 422, FastAPI's default) an
 * InvalidParamsError naming the parameter; 401/403 an AuthError; 404 a ConfigError (the model,
 * or baseURL); 429, 5xx and the rest a NetworkError with the status and Retry-After.
 */
export function failure({ url, status, info, retryAfter, partialText }: FailureContext): FolioError {
  const said = info?.message ?? `HTTP ${status}`;
  if (status === 400 || status === 422) return new InvalidParamsError(paramName(info?.param ?? null), said);
  if (status === 401 || status === 403) {
    return new AuthError(url, status, `${said} (HTTP ${status}): ${status === 401 ? 'the server wants an API key, or another one' : 'this API key may not do this'}`);
  }
  if (status === 404) {
    return info?.param === 'model' || /model/i.test(said)
      ? new ConfigError(url, said, 'model')
      : new ConfigError(url, `${said}: no such endpoint; baseURL should be the API's root, e.g. http://host:8000/v1`, 'baseURL');
  }
  const wait = retryAfter === undefined ? '' : `; retry after ${retryAfter} s`;
  return new NetworkError(url, `HTTP ${status}: ${said}${wait}`, { status, retryAfterSeconds: retryAfter, partialText });
}

/** The error for a non-2xx response, from its status, Retry-After and body text. */
export function responseFailure(url: string, res: { status: number; headers: { get(name: string): string | null } }, bodyText: string): FolioError {
  let body: unknown = null;
  try {
    body = JSON.parse(bodyText);
  } catch {
    // A proxy's HTML error page, say: the status alone decides.
  }
  const info = errorInfo(body) ?? (bodyText.trim() ? { message: bodyText.trim().slice(0, 300), type: null, param: null, status: null } : null);
  return failure({ url, status: res.status, info, retryAfter: retryAfterSeconds(res.headers.get('retry-after')) });
}
