import { InvalidParamsError } from '../errors.ts';
import { checkStreamOptions, isBool, isRecord, optional, shown } from '../api/paramChecks.ts';

/** Parameters only a local engine understands: add_bos, a GBNF grammar, KV budgets and overflow. */
const FOLIO_ONLY = ['add_bos', 'grammar', 'kv_budget_tokens', 'kv_policy', 'context_overflow'] as const;

/** A request as it goes to the server: where, what, and how to read its answer. */
export interface RemoteRequest {
  path: '/chat/completions' | '/completions';
  kind: 'chat' | 'text';
  body: string;
  /** A text completion's legacy `logprobs` k, which reading its chunks needs. */
  legacyTop: number | null;
}

/**
 * Refuses what JSON would change on the way: NaN and Infinity become null (the server's
 * default, silently), a BigInt throws a TypeError, a function vanishes.
 */
function checkJson(v: unknown, path: string): void {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidParamsError(path, `must be a finite number, got ${shown(v)}`);
  if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') throw new InvalidParamsError(path, `cannot be sent as JSON, got ${shown(v)}`);
  if (Array.isArray(v)) v.forEach((x, i) => checkJson(x, `${path}[${i}]`));
  else if (isRecord(v)) for (const [k, x] of Object.entries(v)) checkJson(x, path ? `${path}.${k}` : k);
}

/**
 * The server's request for the page's `params`: everything passes through to the server, which
 * checks it (its 400 comes back as an InvalidParamsError naming the parameter), except what Folio
 * itself decides. The answer always streams, with its usage at the end, whether or not the page
 * streams: a dropped connection then still leaves the text so far, and the usage is exact.
 * `model` is the served model's name (the page's `model` was matched to it already).
 */
export function remoteRequest(params: unknown, model: string): RemoteRequest {
  if (!isRecord(params)) throw new InvalidParamsError('params', 'must be an object');
  const chat = params.messages !== undefined;
  if (chat === (params.prompt !== undefined)) throw new InvalidParamsError('messages', 'give either messages (chat) or prompt (text), not both');
  // Folio's own extensions: a server would ignore them without a word (vLLM keeps unknown fields).
  for (const key of FOLIO_ONLY) {
    if (params[key] !== undefined && params[key] !== null) throw new InvalidParamsError(key, 'is a Folio extension a remote server does not take (it decides this itself); leave it out');
  }
  const stream = optional(params, 'stream', isBool, 'a boolean') ?? false;
  // The page's stream_options shape only what Folio hands the page (the server is always asked
  // for the usage), so Folio checks them as the local engine does: the server never sees them.
  checkStreamOptions(params.stream_options, stream);
  checkJson(params, '');
  const { stream_options: _, ...rest } = params;
  const legacyTop = !chat && Number.isInteger(params.logprobs) ? (params.logprobs as number) : null;
  return {
    path: chat ? '/chat/completions' : '/completions',
    kind: chat ? 'chat' : 'text',
    body: JSON.stringify({ ...rest, model, stream: true, stream_options: { include_usage: true } }),
    legacyTop,
  };
}
