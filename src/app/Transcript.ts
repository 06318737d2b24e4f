import type { FinishReason } from '../api/index.ts';
import { h } from './dom.ts';
import { plural } from './format.ts';

/** How close to the bottom (px) still counts as reading the newest text. */
const NEAR_END = 48;

/**
 * A pane's log of turns for one mode: builds each turn, says how it ended, and keeps the newest
 * turn in view (a new turn, an error or a note always scrolls to it; streamed text follows
 * only while the person has not scrolled up to read).
 */
export class Transcript {
  readonly el: HTMLElement;
  /** Whether the newest text is in view: kept so across a new layout (a rotated phone, a resize). */
  private following = true;

  constructor(label: string, mode: 'story' | 'chat') {
    this.el = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': `${label} transcript`, tabindex: 0, 'data-mode': mode });
    this.el.addEventListener('scroll', () => (this.following = this.atEnd()), { passive: true });
    // Text re-wraps at a new width and the log grows taller under an unchanged scrollTop.
    addEventListener('resize', () => {
      if (this.following && this.el.isConnected) this.scrollToEnd();
    });
  }

  /** A new turn with the prompt, and the element its answer streams into. */
  begin(mode: 'story' | 'chat', text: string): { turn: HTMLElement; out: HTMLElement } {
    const out = h('span', { class: 'gen' });
    const turn = mode === 'story'
      ? h('div', { class: 'turn story' }, h('span', { class: 'prompt' }, text), out)
      : h('div', { class: 'turn chat' }, h('p', { class: 'user' }, text), h('p', { class: 'assistant' }, out));
    this.el.append(turn);
    this.scrollToEnd();
    return { turn, out };
  }

  append(out: HTMLElement, text: string): void {
    out.textContent += text;
    if (this.following) this.scrollToEnd();
  }

  error(turn: HTMLElement, e: Error): void {
    turn.append(h('p', { class: 'error', role: 'alert' }, e.message));
    this.scrollToEnd();
  }

  /** Older turns were left out of this request to fit the context. */
  leftOut(turn: HTMLElement, dropped: number, context: number | null): void {
    const fit = context ? `the model's ${context}-token context` : 'the model\'s context';
    const text = `The oldest ${plural(dropped, 'turn')} ${dropped === 1 ? 'is' : 'are'} left out to fit ${fit}.`;
    let note = turn.querySelector<HTMLElement>('.note.context');
    note ??= turn.insertBefore(h('p', { class: 'note context' }), turn.firstChild);
    note.textContent = text;
  }

  /** Part of this request's KV was evicted to keep its budget. */
  evicted(turn: HTMLElement, tokens: number, budget: number): void {
    const text = `${plural(tokens, 'token')} of KV evicted to keep this chat within ${budget} tokens (the first block kept as attention sink).`;
    let note = turn.querySelector<HTMLElement>('.note.evicted');
    note ??= turn.appendChild(h('p', { class: 'note evicted' }));
    note.textContent = text;
  }

  /**
   * Marks how the turn ended, and says why when it was cut short by the token limit: right
   * after the last word, which would otherwise read as the story's own (odd) ending.
   */
  end(turn: HTMLElement, out: HTMLElement, finish: FinishReason | 'error', maxTokens: number | undefined): void {
    turn.dataset.finish = finish;
    if (finish === 'length') {
      const limit = maxTokens ? `the ${maxTokens}-token limit` : 'the token limit';
      out.after(h('span', { class: 'note finish' }, `stopped at ${limit}`));
    }
    if (finish !== 'error') this.scrollToEnd();
  }

  clear(): void {
    this.el.replaceChildren();
  }

  scrollToEnd(): void {
    this.el.scrollTop = this.el.scrollHeight;
    this.following = true;
  }

  private atEnd(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.el;
    return scrollHeight - scrollTop - clientHeight <= NEAR_END;
  }
}
