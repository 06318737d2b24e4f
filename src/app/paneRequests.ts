import { type CompletionFinishReason, ContextLengthError, type FolioEngine, type Usage } from '../api/index.ts';
import type { ChatHistory } from './ChatHistory.ts';
import type { Sampling } from './SettingsForm.ts';

/** Where a streamed answer goes. */
export interface AnswerSink {
  text(t: string): void;
  finish(reason: CompletionFinishReason | null): void;
  usage(u: Usage | null | undefined): void;
  /** Whether any text has arrived (a request is retried only before that). */
  started(): boolean;
  /** The request was sent without the speculative decoding the settings ask for, and why. */
  speculationOff?(why: string): void;
}

/** Story mode: a raw prompt to `completions`, streamed. */
export async function streamStory(engine: FolioEngine, prompt: string, sampling: Sampling, signal: AbortSignal, sink: AnswerSink): Promise<void> {
  const stream = await engine.completions.create({ prompt, stream: true, stream_options: { include_usage: true }, ...sampling }, { signal });
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      sink.text(c.text);
      sink.finish(c.finish_reason);
    }
    sink.usage(chunk.usage);
  }
}

/**
 * Chat mode: the history (its newest question already asked) to `chat.completions`, streamed.
 * A history too long for the model's context is sent without its oldest exchanges (a refused
 * request costs nothing: the engine checks before it allocates); `leftOut` hears how many are
 * left out in all. Should even the newest question alone not fit, the history is put back as
 * it was, less that question, and the error thrown.
 */
export async function streamChat(
  engine: FolioEngine, history: ChatHistory, system: string | null, sampling: Sampling, signal: AbortSignal, sink: AnswerSink,
  leftOut: (dropped: number, context: number | null) => void,
): Promise<void> {
  const before = history.dropped;
  let context: number | null = null;
  for (;;) {
    try {
      const messages = history.messages(system);
      const kv = history.kvBudget === null ? {} : { kv_budget_tokens: history.kvBudget };
      // The engine refuses speculation with a KV budget (not combined yet): a long chat decodes plainly, and says so.
      const { speculative, ...rest } = sampling;
      if (speculative && history.kvBudget !== null) sink.speculationOff?.('speculation off: not combined with the KV budget yet');
      const spec = speculative && history.kvBudget === null ? { speculative } : {};
      const stream = await engine.chat.completions.create({ messages, stream: true, stream_options: { include_usage: true }, ...kv, ...rest, ...spec }, { signal });
      if (history.dropped > before) leftOut(history.dropped, context);
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          sink.text(c.delta.content ?? '');
          sink.finish(c.finish_reason === 'tool_calls' ? 'stop' : c.finish_reason); // the app sends no tools
        }
        sink.usage(chunk.usage);
      }
      return;
    } catch (e) {
      if (e instanceof ContextLengthError && !sink.started() && history.dropAbout(charsToFree(e, history.chars(system))) > 0) {
        context = e.contextLength;
        history.kvBudget ??= chatKvBudget(e.contextLength);
        continue;
      }
      if (!signal.aborted) {
        history.restore(before);
        history.forgetLast();
      }
      throw e;
    }
  }
}

/** A long chat's KV budget: half the context in whole blocks of 16, at least the engine's least (3 blocks). */
export function chatKvBudget(context: number): number {
  return Math.max(48, Math.floor(context / 2 / 16) * 16);
}

/**
 * How many characters of the oldest exchanges to leave out of a chat that overflowed: the
 * excess tokens plus half the context, so that the next several turns fit too and reuse the KV
 * of the prompt's start (leaving out one exchange per turn would change that start at every
 * turn, and the whole prompt would be computed again each time), converted to characters at
 * this prompt's own rate.
 */
function charsToFree(e: ContextLengthError, chars: number): number {
  const excess = e.promptTokens + Math.max(1, e.maxTokens) - e.contextLength;
  return Math.ceil((excess + e.contextLength / 2) * (chars / Math.max(1, e.promptTokens)));
}
