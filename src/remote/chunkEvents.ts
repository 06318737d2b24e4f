import type { CompletionFinishReason, TokenLogprob, Usage } from '../api/openai.ts';
import { isRecord } from '../api/paramChecks.ts';
import type { EngineEvent } from '../engine/events.ts';
import { type FolioError, NetworkError } from '../errors.ts';
import { errorInfo, failure } from './httpErrors.ts';
import { ToolCallDeltas } from './toolCallDeltas.ts';

/**
 * Turns a streamed response's chunks (chat.completion.chunk or text_completion, as OpenAI and
 * vLLM send them) into the engine events Folio's API layer shapes responses from, so that a
 * remote answer reaches the page through the same code as a local one. Keeps each choice's text
 * so far, for the error of a stream that fails mid-answer.
 */
export class ChunkEvents {
  /** Each choice's text so far, by index. */
  readonly text: string[] = [];
  private usage: Usage | null = null;
  private readonly calls: ToolCallDeltas;

  /**
   * `kind`: which API the chunks come from; `legacyTop`: a text completion's `logprobs` k (its
   * chunks give the k best plus the chosen token, which Folio's events keep apart).
   */
  constructor(private readonly url: string, private readonly kind: 'chat' | 'text', private readonly legacyTop: number | null) {
    this.calls = new ToolCallDeltas((what) => this.malformed(what));
  }

  /** The events one chunk carries; throws the typed error of an error chunk or a malformed one. */
  read(chunk: unknown): EngineEvent[] {
    if (!isRecord(chunk)) throw this.malformed('a chunk that is not a JSON object');
    const info = errorInfo(chunk);
    // vLLM reports a failure after the 200 as one more event, `data: {"error": {...}}`.
    if (info) throw failure({ url: this.url, status: info.status ?? 500, info, partialText: [...this.text] });
    if (!Array.isArray(chunk.choices)) throw this.malformed('a chunk without a choices list');
    const events: EngineEvent[] = [];
    for (const choice of chunk.choices) events.push(...this.choice(choice));
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = this.readUsage(chunk.usage);
    return events;
  }

  /** The closing event, at `data: [DONE]`. */
  done(): { type: 'done'; usage: Usage } {
    // Folio always asks for stream_options.include_usage; a server that ignores it cannot say
    // how many tokens the prompt took, and a made-up count would be worse than an error.
    if (!this.usage) throw this.malformed('a stream that ended without the usage chunk stream_options.include_usage asks for');
    return { type: 'done', usage: this.usage };
  }

  malformed(what: string): FolioError {
    return new NetworkError(this.url, `the server sent ${what}`, { partialText: [...this.text] });
  }

  private choice(c: unknown): EngineEvent[] {
    if (!isRecord(c) || !Number.isInteger(c.index) || (c.index as number) < 0 || (c.index as number) > 1024) throw this.malformed('a choice without an index');
    const index = c.index as number;
    let text: unknown;
    if (this.kind === 'chat') {
      if (!isRecord(c.delta)) throw this.malformed('a chat choice without a delta');
      if (Array.isArray(c.delta.tool_calls)) this.calls.read(index, c.delta.tool_calls);
      text = c.delta.content ?? '';
    } else {
      text = c.text ?? '';
    }
    if (typeof text !== 'string') throw this.malformed(`choice ${index}'s text as ${typeof text}`);
    const events: EngineEvent[] = [];
    const logprobs = this.kind === 'chat' ? this.chatLogprobs(c.logprobs) : this.legacyLogprobs(c.logprobs);
    // vLLM opens each chat choice with an empty delta that only names the role.
    if (text !== '' || (logprobs && logprobs.length > 0)) {
      events.push({ type: 'delta', choice: index, text, logprobs });
      this.text[index] = (this.text[index] ?? '') + text;
    }
    if (c.finish_reason !== null && c.finish_reason !== undefined) {
      const call = this.calls.text(index, this.text[index] ?? '');
      if (call !== null) events.push({ type: 'delta', choice: index, text: call, logprobs: null });
      events.push({ type: 'finish', choice: index, reason: this.finishReason(c.finish_reason) });
    }
    return events;
  }

  private finishReason(reason: unknown): CompletionFinishReason {
    if (reason === 'stop' || reason === 'length') return reason;
    // The call went out as the text the API layer reads calls from: it makes the finish 'tool_calls' again.
    if (reason === 'tool_calls') return 'stop';
    // vLLM: 'abort' (the server dropped the request), 'error' (it failed while generating).
    throw new NetworkError(this.url, `the server ended a choice with finish_reason ${JSON.stringify(reason)}`, { partialText: [...this.text] });
  }

  private chatLogprobs(lp: unknown): TokenLogprob[] | null {
    if (lp === null || lp === undefined) return null;
    if (!isRecord(lp) || !(lp.content === null || Array.isArray(lp.content))) throw this.malformed('chat logprobs without a content list');
    return lp.content ? lp.content.map((t) => this.tokenLogprob(t)) : null;
  }

  private tokenLogprob(t: unknown): TokenLogprob {
    if (!isRecord(t) || typeof t.token !== 'string' || typeof t.logprob !== 'number') throw this.malformed('a logprob entry without token and logprob');
    const top = Array.isArray(t.top_logprobs) ? t.top_logprobs : [];
    return {
      token: t.token,
      logprob: t.logprob,
      bytes: Array.isArray(t.bytes) ? (t.bytes as number[]) : utf8(t.token),
      top_logprobs: top.map((a) => {
        const e = this.tokenLogprob({ ...(isRecord(a) ? a : {}), top_logprobs: [] });
        return { token: e.token, logprob: e.logprob, bytes: e.bytes };
      }),
    };
  }

  /**
   * OpenAI's legacy form back into Folio's: each token with its k best alternatives. The
   * server's dict holds those k plus the chosen token when it is not among them; its text_offset
   * is dropped (Folio counts it from the prompt's start, as OpenAI does; vLLM from the completion's).
   */
  private legacyLogprobs(lp: unknown): TokenLogprob[] | null {
    if (lp === null || lp === undefined) return null;
    if (!isRecord(lp) || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs) || !Array.isArray(lp.top_logprobs)) {
      throw this.malformed('text logprobs without tokens, token_logprobs and top_logprobs');
    }
    const k = this.legacyTop ?? 0;
    const { token_logprobs: logprobs, top_logprobs: dicts } = lp as { token_logprobs: unknown[]; top_logprobs: unknown[] };
    return lp.tokens.map((token, i) => {
      const logprob = logprobs[i];
      const dict = dicts[i];
      if (typeof token !== 'string' || typeof logprob !== 'number' || !(dict === null || isRecord(dict))) throw this.malformed(`text logprobs for token ${i} that are not a token, a number and a dict`);
      const best = Object.entries(dict ?? {})
        .filter((e): e is [string, number] => typeof e[1] === 'number')
        .sort((a, b) => b[1] - a[1])
        .slice(0, k);
      return { token, logprob, bytes: utf8(token), top_logprobs: best.map(([t, l]) => ({ token: t, logprob: l, bytes: utf8(t) })) };
    });
  }

  private readUsage(u: unknown): Usage {
    const count = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : null);
    if (!isRecord(u)) throw this.malformed('a usage that is not an object');
    const prompt = count(u.prompt_tokens);
    const completion = count(u.completion_tokens);
    if (prompt === null || completion === null) throw this.malformed('a usage without prompt_tokens and completion_tokens');
    const details = isRecord(u.prompt_tokens_details) ? count(u.prompt_tokens_details.cached_tokens) : null;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: count(u.total_tokens) ?? prompt + completion, prompt_tokens_details: { cached_tokens: details ?? 0 } };
  }
}

const encoder = new TextEncoder();
const utf8 = (s: string): number[] => [...encoder.encode(s)];
