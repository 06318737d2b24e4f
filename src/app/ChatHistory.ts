import type { ChatMessage } from '../api/index.ts';

/**
 * A chat pane's conversation: the exchanges sent with every request, each tied to its turn in
 * the transcript. The model's context is short (512 tokens for stories260K), so a long chat is
 * sent without its oldest exchanges once it no longer fits: `dropOldest` forgets one and marks
 * its turn as left out. From then on its requests also hold at most `kvBudget` tokens of KV
 * (the engine evicts blocks beyond it, keeping the first as attention sink), so that a long
 * chat keeps a bounded share of the KV pool.
 */
export class ChatHistory {
  /** KV tokens each request may hold, set once the chat outgrew the context; null before. */
  kvBudget: number | null = null;
  private readonly exchanges: Exchange[] = [];
  /** Exchanges left out of the requests, oldest first. */
  private readonly gone: Exchange[] = [];

  /** How many exchanges have been left out since the chat began. */
  get dropped(): number {
    return this.gone.length;
  }

  get length(): number {
    return this.exchanges.length;
  }

  /** A new question, not yet answered. */
  ask(user: string, turn: HTMLElement): void {
    this.exchanges.push({ user, assistant: null, turn });
  }

  /** The newest question's answer (kept even when stopped or cut off: the transcript shows it). */
  answer(text: string): void {
    const last = this.exchanges.at(-1);
    if (last) last.assistant = text;
  }

  /** The newest question failed: it is not part of the conversation. */
  forgetLast(): void {
    this.exchanges.pop();
  }

  /** The messages of a request: the system prompt, then every exchange still kept. */
  messages(system: string | null): ChatMessage[] {
    const out: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    for (const e of this.exchanges) {
      out.push({ role: 'user', content: e.user });
      if (e.assistant !== null) out.push({ role: 'assistant', content: e.assistant });
    }
    return out;
  }

  /** Characters of the request's messages: with its token count, a rough tokens-per-character rate. */
  chars(system: string | null): number {
    return this.messages(system).reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);
  }

  /**
   * Leaves out the oldest exchanges whose text adds up to about `chars` characters (at least
   * one, never the newest question). Returns how many were left out.
   */
  dropAbout(chars: number): number {
    let gone = 0;
    let freed = 0;
    while ((gone === 0 || freed < chars) && this.exchanges.length > 1) {
      const e = this.exchanges[0];
      freed += e.user.length + (e.assistant?.length ?? 0);
      this.dropOldest();
      gone++;
    }
    return gone;
  }

  /** Leaves the oldest exchange out of later requests; false when only the newest question is left. */
  dropOldest(): boolean {
    if (this.exchanges.length < 2) return false;
    const gone = this.exchanges.shift()!;
    gone.turn.classList.add('left-out');
    gone.turn.title = 'Left out of the model\'s context: the model no longer sees this turn';
    this.gone.push(gone);
    return true;
  }

  /**
   * Takes back what was left out beyond the first `keep`: a question too long even alone
   * fails, and must not cost the conversation its earlier turns.
   */
  restore(keep: number): void {
    while (this.gone.length > keep) {
      const back = this.gone.pop()!;
      back.turn.classList.remove('left-out');
      back.turn.removeAttribute('title');
      this.exchanges.unshift(back);
    }
  }

  clear(): void {
    this.exchanges.length = 0;
    this.gone.length = 0;
  }
}

interface Exchange {
  user: string;
  assistant: string | null;
  turn: HTMLElement;
}
