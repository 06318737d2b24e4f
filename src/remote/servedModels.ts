import { ConfigError, NetworkError } from '../errors.ts';
import { isRecord } from '../api/paramChecks.ts';
import { responseFailure } from './httpErrors.ts';
import type { ResolvedEndpoint } from './RemoteEndpoint.ts';

/**
 * The models the server serves (`GET /models`, OpenAI's list: `{"object": "list", "data":
 * [{"id": ...}]}`), or null when it has no such route (a proxy that passes completions only).
 * A server that cannot be reached is a NetworkError; a refused key an AuthError.
 */
export async function servedModels(e: ResolvedEndpoint, signal?: AbortSignal): Promise<string[] | null> {
  const url = `${e.baseURL}/models`;
  const timeout = e.idleTimeoutMs > 0 ? AbortSignal.timeout(e.idleTimeoutMs) : undefined;
  const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  let res: Response;
  let text: string;
  try {
    res = await e.fetch(url, { headers: { ...e.headers, ...(e.apiKey ? { Authorization: `Bearer ${e.apiKey}` } : {}) }, signal: signals.length ? AbortSignal.any(signals) : undefined });
    text = await res.text();
  } catch (err) {
    throw new NetworkError(url, `cannot reach the server (${(err as Error).message}); in a browser, also check that its CORS headers allow this origin`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw responseFailure(url, res, text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NetworkError(url, 'the model list is not JSON');
  }
  if (!isRecord(body) || !Array.isArray(body.data)) throw new NetworkError(url, 'the model list has no data array');
  return body.data.filter(isRecord).map((m) => m.id).filter((id): id is string => typeof id === 'string');
}

/** Refuses a model the server does not list, naming those it does (a ConfigError, as a 404 would be). */
export async function checkServed(e: ResolvedEndpoint, signal?: AbortSignal): Promise<void> {
  const served = await servedModels(e, signal);
  if (served && !served.includes(e.model)) {
    throw new ConfigError(`${e.baseURL}/models`, `the server does not serve ${JSON.stringify(e.model)}; it serves ${served.map((m) => JSON.stringify(m)).join(', ') || 'nothing'}`, 'model');
  }
}
