import { describe, expect, it } from 'vitest';
import type { Usage } from '../../src/api/index.ts';
import { ChatHistory } from '../../src/app/ChatHistory.ts';
import { type AnswerSink, streamChat } from '../../src/app/paneRequests.ts';
import { cpuEngine } from '../engine/engineHarness.ts';

/** A sink that keeps the answer, its usage, and why speculation was left out, if it was. */
function sink() {
  const got = { text: '', usage: null as Usage | null, off: null as string | null };
  const s: AnswerSink = { text: (t) => (got.text += t), finish: () => {}, usage: (u) => (got.usage = u ?? got.usage), started: () => got.text.length > 0, speculationOff: (why) => (got.off = why) };
  return { got, s };
}

describe("the demo app's chat requests with speculative decoding on (Node, the CPU engine)", () => {
  it('speculate with n-gram drafts; a chat on a KV budget (which the engine refuses with speculation) decodes plainly and says so', async () => {
    const { api } = await cpuEngine();
    const sampling = { temperature: 0, max_tokens: 12, speculative: { method: 'ngram' as const } };
    const ask = async (kvBudget: number | null) => {
      const history = new ChatHistory();
      history.kvBudget = kvBudget;
      history.ask('Tell me a story about a cat and a cat.', {} as HTMLElement);
      const { got, s } = sink();
      await streamChat(api, history, null, sampling, new AbortController().signal, s, () => {});
      return got;
    };
    const plain = await ask(null);
    expect(plain.usage?.speculative).toBeDefined();
    expect(plain.off).toBeNull();
    const budget = await ask(96);
    expect(budget.off).toBe('speculation off: not combined with the KV budget yet');
    expect(budget.usage?.speculative).toBeUndefined();
    expect(budget.text).toBe(plain.text);
  });
});
