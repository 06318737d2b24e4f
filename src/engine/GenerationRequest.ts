import type { ChatMessage, SamplingRequest } from '../api/openai.ts';
import { InvalidParamsError } from '../errors.ts';
import { samplingParams, type SamplingParams } from '../sampling/SamplingParams.ts';

/** A request as the engine runs it: validated, defaults filled in, not yet tokenized. */
export interface GenerationRequest {
  /** Either a raw prompt or chat messages to render with the model's chat template. */
  prompt: { text: string; addBos: boolean } | { messages: ChatMessage[] };
  n: number;
  /** null: up to the end of the context. */
  maxTokens: number | null;
  sampling: SamplingParams;
  stop: string[];
  /** null: no logprobs; k >= 0: the chosen token's logprob and the k best alternatives. */
  topLogprobs: number | null;
}

const KNOWN = new Set([
  'messages', 'prompt', 'model', 'n', 'max_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty',
  'seed', 'stop', 'logprobs', 'top_logprobs', 'stream', 'stream_options', 'add_bos', 'user',
]);

/**
 * A value as a message shows it: JSON would print NaN and Infinity as `null`, undefined as
 * nothing, and throw on a BigInt.
 */
export function shown(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'undefined' || typeof v === 'symbol' || typeof v === 'function') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function optional<T>(p: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, want: string): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (!ok(v)) throw new InvalidParamsError(key, `must be ${want}, got ${shown(v)}`);
  return v;
}

function required<T>(p: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, want: string): T {
  const v = p[key];
  if (!ok(v)) throw new InvalidParamsError(key, `must be ${want}, got ${shown(v)}`);
  return v;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
/** Seeds must be exact: past 2^53 neighbouring integers are the same double. */
const isSafeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';

function messages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw new InvalidParamsError('messages', 'must be a non-empty array of {role, content}');
  return v.map((m, i) => {
    const r = m as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || !['system', 'user', 'assistant'].includes(r.role as string)) {
      throw new InvalidParamsError(`messages[${i}].role`, `must be system, user or assistant, got ${shown(r?.role)}`);
    }
    if (typeof r.content !== 'string') throw new InvalidParamsError(`messages[${i}].content`, `must be a string, got ${shown(r.content)}`);
    return { role: r.role as ChatMessage['role'], content: r.content };
  });
}

/**
 * Turns OpenAI-style parameters into a GenerationRequest, refusing every bad value with an
 * InvalidParamsError that names the parameter. Nothing is allocated before this passes.
 */
export function parseRequest(raw: unknown): GenerationRequest {
  if (typeof raw !== 'object' || raw === null) throw new InvalidParamsError('params', 'must be an object');
  const p = raw as Record<string, unknown> & SamplingRequest;
  for (const key of Object.keys(p)) if (!KNOWN.has(key)) throw new InvalidParamsError(key, 'is not a known parameter');
  const n = optional(p, 'n', isInt, 'an integer >= 1') ?? 1;
  if (n < 1 || n > 64) throw new InvalidParamsError('n', `must be between 1 and 64, got ${n}`);
  const maxTokens = optional(p, 'max_tokens', isInt, 'an integer >= 1') ?? null;
  if (maxTokens !== null && maxTokens < 1) throw new InvalidParamsError('max_tokens', `must be >= 1, got ${maxTokens}`);
  const stopRaw = p.stop;
  let stop: string[] = [];
  if (typeof stopRaw === 'string') stop = [stopRaw];
  else if (Array.isArray(stopRaw) && stopRaw.every(isString)) stop = stopRaw;
  else if (stopRaw !== undefined && stopRaw !== null) throw new InvalidParamsError('stop', 'must be a string or an array of strings');
  if (stop.some((s) => s.length === 0)) throw new InvalidParamsError('stop', 'must not contain an empty string');
  const logprobs = optional(p, 'logprobs', isBool, 'a boolean') ?? false;
  const top = optional(p, 'top_logprobs', isInt, 'an integer from 0 to 20');
  if (top !== undefined && (top < 0 || top > 20)) throw new InvalidParamsError('top_logprobs', `must be from 0 to 20, got ${top}`);
  if (top !== undefined && !logprobs) throw new InvalidParamsError('top_logprobs', 'needs logprobs: true');
  optional(p, 'stream', isBool, 'a boolean');
  const sampling = samplingParams({
    temperature: optional(p, 'temperature', isNum, 'a number'),
    topP: optional(p, 'top_p', isNum, 'a number'),
    topK: optional(p, 'top_k', isInt, 'an integer'),
    repetitionPenalty: optional(p, 'repetition_penalty', isNum, 'a number'),
    seed: optional(p, 'seed', isSafeInt, 'an integer from -(2^53 - 1) to 2^53 - 1'),
  });
  const hasMessages = p.messages !== undefined;
  if (hasMessages === (p.prompt !== undefined)) throw new InvalidParamsError('messages', 'give either messages (chat) or prompt (text), not both');
  // A null prompt is refused by name, not read as "no prompt".
  const prompt = hasMessages
    ? { messages: messages(p.messages) }
    : { text: required(p, 'prompt', isString, 'a string'), addBos: optional(p, 'add_bos', isBool, 'a boolean') ?? true };
  return { prompt, n, maxTokens, sampling, stop, topLogprobs: logprobs ? (top ?? 0) : null };
}
