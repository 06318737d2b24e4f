import { chatMessages } from '../api/chatMessages.ts';
import type { ChatMessage, SamplingRequest } from '../api/openai.ts';
import { checkStreamOptions, isBool, isInt, isNum, isSafeInt, isString, optional, required } from '../api/paramChecks.ts';
import { InvalidParamsError } from '../errors.ts';
import type { Grammar } from '../grammar/Grammar.ts';
import { outputGrammar } from '../api/responseFormat.ts';
import { type ToolChat, toolRequest } from '../api/tools.ts';
import { type LogitBias, parseLogitBias } from '../sampling/logitBias.ts';
import { type Penalties, penalties } from '../sampling/penalties.ts';
import { samplingParams, type SamplingParams } from '../sampling/SamplingParams.ts';
import { KV_PARAMS, type KvRequest, parseKvRequest } from './kvRequest.ts';
import { type SpeculativeLimits, type SpeculativeOption, speculationOf } from '../speculative/speculativeParams.ts';

/** A request as the engine runs it: validated, defaults filled in, not yet tokenized. */
export interface GenerationRequest {
  /** Either a raw prompt or chat messages to render with the model's chat template. */
  /** `addBos` undefined: the tokenizer's own rule (its post-processor, as Hugging Face encodes). */
  prompt: { text: string; addBos: boolean | undefined } | ToolChat;
  n: number;
  /** null: up to the end of the context. */
  maxTokens: number | null;
  sampling: SamplingParams;
  /** OpenAI's frequency and presence penalties, over each choice's generated tokens. */
  penalties: Penalties;
  /** Added to the logits before sampling; null: none. */
  logitBias: LogitBias | null;
  stop: string[];
  /** null: no logprobs; k >= 0: the chosen token's logprob and the k best alternatives. */
  topLogprobs: number | null;
  /** The grammar each choice's output follows (response_format, grammar, a forced tool call); null: free. */
  grammar: Grammar | null;
  /** KV budget, eviction policy, context overflow (src/engine/kvRequest.ts). */
  kv: KvRequest;
  /** Speculative decoding (src/speculative/); null: plain decoding. */
  speculative: SpeculativeOption | null;
}

/** What the loaded model bounds: without it, token ids in `logit_bias` are not range-checked. */
export interface RequestLimits {
  /** Rows of the model's logits. */
  vocabSize?: number;
  /** The engine's speculative default and draft model; absent: none, and method 'draft' is refused. */
  speculative?: SpeculativeLimits;
}

const KNOWN = new Set([
  'messages', 'prompt', 'model', 'n', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k',
  'repetition_penalty', 'frequency_penalty', 'presence_penalty', 'logit_bias', 'seed', 'stop', 'logprobs',
  'top_logprobs', 'stream', 'stream_options', 'add_bos', 'user', ...KV_PARAMS,
  'response_format', 'grammar', 'tools', 'tool_choice', 'speculative',
]);

/** max_tokens, or its newer name max_completion_tokens; both only when they agree. */
function maxTokensOf(p: Record<string, unknown>): number | null {
  const legacy = optional(p, 'max_tokens', isInt, 'an integer >= 1');
  const newer = optional(p, 'max_completion_tokens', isInt, 'an integer >= 1');
  if (legacy !== undefined && newer !== undefined && legacy !== newer) {
    throw new InvalidParamsError('max_completion_tokens', `is ${newer} but max_tokens is ${legacy}: give one of them (max_completion_tokens is the newer name)`);
  }
  const max = newer ?? legacy ?? null;
  if (max !== null && max < 1) throw new InvalidParamsError(newer !== undefined ? 'max_completion_tokens' : 'max_tokens', `must be >= 1, got ${max}`);
  return max;
}

function stopOf(stopRaw: unknown): string[] {
  let stop: string[] = [];
  if (typeof stopRaw === 'string') stop = [stopRaw];
  else if (Array.isArray(stopRaw) && stopRaw.every(isString)) stop = stopRaw;
  else if (stopRaw !== undefined && stopRaw !== null) throw new InvalidParamsError('stop', 'must be a string or an array of strings');
  if (stop.some((s) => s.length === 0)) throw new InvalidParamsError('stop', 'must not contain an empty string');
  return stop;
}

/**
 * Logprobs as each API asks: chat takes `logprobs: true` and `top_logprobs` (0 to 20), text
 * completions OpenAI's legacy `logprobs: <k>` (0 to 5).
 */
function topLogprobsOf(p: Record<string, unknown>, chat: boolean): number | null {
  if (!chat) {
    if (p.top_logprobs !== undefined && p.top_logprobs !== null) throw new InvalidParamsError('top_logprobs', 'is a chat parameter: text completions take logprobs: <k> (0 to 5)');
    const k = optional(p, 'logprobs', isInt, 'an integer from 0 to 5');
    if (k !== undefined && (k < 0 || k > 5)) throw new InvalidParamsError('logprobs', `must be from 0 to 5, got ${k}`);
    return k ?? null;
  }
  const logprobs = optional(p, 'logprobs', isBool, 'a boolean') ?? false;
  const top = optional(p, 'top_logprobs', isInt, 'an integer from 0 to 20');
  if (top !== undefined && (top < 0 || top > 20)) throw new InvalidParamsError('top_logprobs', `must be from 0 to 20, got ${top}`);
  if (top !== undefined && !logprobs) throw new InvalidParamsError('top_logprobs', 'needs logprobs: true');
  return logprobs ? (top ?? 0) : null;
}

/**
 * Turns OpenAI-style parameters into a GenerationRequest, refusing every bad value with an
 * InvalidParamsError that names the parameter. Nothing is allocated before this passes.
 * `model` is only type-checked here: the API layer (src/api/modelName.ts) matches it to the model.
 */
export function parseRequest(raw: unknown, limits: RequestLimits = {}): GenerationRequest {
  if (typeof raw !== 'object' || raw === null) throw new InvalidParamsError('params', 'must be an object');
  const p = raw as Record<string, unknown> & SamplingRequest;
  for (const key of Object.keys(p)) if (!KNOWN.has(key)) throw new InvalidParamsError(key, 'is not a known parameter');
  const n = optional(p, 'n', isInt, 'an integer >= 1') ?? 1;
  if (n < 1 || n > 64) throw new InvalidParamsError('n', `must be between 1 and 64, got ${n}`);
  const maxTokens = maxTokensOf(p);
  const stop = stopOf(p.stop);
  const hasMessages = p.messages !== undefined;
  if (hasMessages === (p.prompt !== undefined)) throw new InvalidParamsError('messages', 'give either messages (chat) or prompt (text), not both');
  const topLogprobs = topLogprobsOf(p, hasMessages);
  checkStreamOptions(p.stream_options, optional(p, 'stream', isBool, 'a boolean') ?? false);
  optional(p, 'model', isString, 'a string');
  const sampling = samplingParams({
    temperature: optional(p, 'temperature', isNum, 'a number'),
    topP: optional(p, 'top_p', isNum, 'a number'),
    topK: optional(p, 'top_k', isInt, 'an integer'),
    repetitionPenalty: optional(p, 'repetition_penalty', isNum, 'a number'),
    seed: optional(p, 'seed', isSafeInt, 'an integer from -(2^53 - 1) to 2^53 - 1'),
  });
  const penalty = penalties(optional(p, 'frequency_penalty', isNum, 'a number'), optional(p, 'presence_penalty', isNum, 'a number'));
  const logitBias = parseLogitBias(p.logit_bias, limits.vocabSize);
  // A null prompt is refused by name, not read as "no prompt".
  const tools = hasMessages ? toolRequest(p) : null;
  if (!hasMessages && (p.tools !== undefined || p.tool_choice !== undefined)) throw new InvalidParamsError('tools', 'is a chat parameter');
  const grammar = outputGrammar(p, tools);
  const prompt = hasMessages
    ? { messages: chatMessages(p.messages), tools: tools ?? undefined }
    : { text: required(p, 'prompt', isString, 'a string'), addBos: optional(p, 'add_bos', isBool, 'a boolean') };
  const kv = parseKvRequest(p);
  const speculative = speculationOf(p.speculative, limits.speculative ?? { default: null, draftModel: null }, {
    grammar: grammar !== null, penalties: penalty.frequency !== 0 || penalty.presence !== 0, logitBias: logitBias !== null,
    logprobs: topLogprobs !== null, repetitionPenalty: sampling.repetitionPenalty !== 1, kvLimit: kv.budgetTokens !== undefined || kv.overflow === 'shift',
  });
  return { prompt, n, maxTokens, sampling, penalties: penalty, logitBias, stop, topLogprobs, kv, grammar, speculative };
}
