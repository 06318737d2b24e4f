import type { ChatMessage, FinishReason, FolioEngine, PinResult, Usage } from '../api/index.ts';
import { h, nextId } from './dom.ts';
import { plural } from './format.ts';
import { paneColor } from './palette.ts';
import type { Sampling } from './SettingsForm.ts';

export type PaneMode = 'story' | 'chat';

export interface PaneHost {
  engine(): FolioEngine | null;
  sampling(): Sampling;
  /** A request is about to start / has ended (for polling and KV ownership). */
  started(pane: number): void;
  ended(pane: number): void;
  /** A prefix was pinned (the KV map, the stats and the cache card have news). */
  pinned(pane: number, result: PinResult): void;
}

/** Client-side numbers of a pane's last request. */
export interface PaneRun {
  ttftMs: number | null;
  tokens: number;
  tokensPerSecond: number | null;
  finish: FinishReason | 'error' | null;
  usage: Usage | null;
}

/**
 * One conversation: a prompt box, a streamed transcript, Send and Stop. 'story' mode sends a raw
 * prompt to `completions` (stories260K continues stories); 'chat' mode keeps a message history
 * for `chat.completions`.
 */
export class ChatPane {
  readonly el: HTMLElement;
  readonly input: HTMLTextAreaElement;
  private readonly mode: HTMLSelectElement;
  private readonly log: HTMLElement;
  private readonly send: HTMLButtonElement;
  private readonly stop: HTMLButtonElement;
  private readonly meta: HTMLElement;
  private readonly pin: HTMLButtonElement;
  private readonly pinStatus: HTMLElement;
  private readonly history: ChatMessage[] = [];
  /** Chat mode: the pinned text, sent as the system message of every request. */
  private system: string | null = null;
  private pinning = false;
  private controller: AbortController | null = null;
  last: PaneRun | null = null;

  constructor(readonly index: number, private readonly host: PaneHost, initialPrompt = '') {
    const title = `Pane ${index + 1}`;
    const inputId = nextId('prompt');
    this.mode = h('select', { 'aria-label': `${title} mode`, class: 'mode' },
      h('option', { value: 'story' }, 'Story (completions)'), h('option', { value: 'chat' }, 'Chat'));
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': `${title} transcript`, tabindex: 0 });
    this.input = h('textarea', { id: inputId, rows: 2, placeholder: 'Once upon a time…', enterkeyhint: 'send' });
    this.input.value = initialPrompt;
    this.send = h('button', { type: 'submit', class: 'primary send' }, 'Send');
    this.stop = h('button', { type: 'button', class: 'stop', disabled: true }, 'Stop');
    this.meta = h('p', { class: 'pane-meta', 'aria-live': 'off' }, 'Idle');
    const pinStatusId = nextId('pin-status');
    this.pinStatus = h('p', { id: pinStatusId, class: 'pin-status', role: 'status', 'aria-live': 'polite' });
    this.pin = h('button', {
      type: 'button',
      class: 'ghost pin',
      'aria-describedby': pinStatusId,
      title: 'Compute the KV of the prompt box\'s text once and keep it in this browser: prompts that start with it reuse it, after a reload too',
    }, 'Pin as shared prefix');
    const clear = h('button', { type: 'button', class: 'ghost', title: 'Clear the transcript' }, 'Clear');
    const form = h('form', { class: 'composer' },
      h('label', { for: inputId, class: 'sr-only' }, `${title} prompt`), this.input, h('div', { class: 'buttons' }, this.send, this.stop));
    this.el = h('article', { class: 'pane card', 'data-pane': index, 'data-state': 'idle', style: `--pane: ${paneColor(index)}` },
      h('header', {}, h('h2', {}, h('span', { class: 'swatch', 'aria-hidden': 'true' }), title), this.mode, clear),
      this.log, form, h('div', { class: 'pin-row' }, this.pin, this.pinStatus), this.meta);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.run();
      } else if (e.key === 'Escape') this.abort();
    });
    this.stop.addEventListener('click', () => this.abort());
    this.pin.addEventListener('click', () => void this.pinPrefix());
    clear.addEventListener('click', () => {
      this.log.replaceChildren();
      this.history.length = 0;
    });
    clear.setAttribute('aria-label', `Clear ${title} transcript`);
    this.pin.setAttribute('aria-label', `Pin as shared prefix: ${title} prompt`);
    this.mode.addEventListener('change', () => {
      this.input.placeholder = this.mode.value === 'chat' ? 'Say something…' : 'Once upon a time…';
      this.showPinnedSystem();
    });
  }

  get busy(): boolean {
    return this.controller !== null;
  }

  setMode(mode: PaneMode): void {
    this.mode.value = mode;
  }

  abort(): void {
    this.controller?.abort();
  }

  /**
   * Pins the prompt box's text with engine.pinPrefix: in story mode the raw text (a story
   * opening that later prompts continue), in chat mode a system message that this pane then
   * sends first in every request. The text stays in the box, ready to be extended and sent.
   */
  async pinPrefix(): Promise<PinResult | null> {
    const text = this.input.value.trim();
    const engine = this.host.engine();
    if (this.pinning) return null;
    if (!text) {
      this.setPinStatus('Type the text to pin (a system prompt or a story opening) first.', 'error');
      this.input.focus();
      return null;
    }
    if (!engine) {
      this.setPinStatus('Load a model first.', 'error');
      return null;
    }
    const chat = this.mode.value === 'chat';
    this.pinning = true;
    this.pin.disabled = true;
    this.pin.setAttribute('aria-busy', 'true');
    this.setPinStatus('Pinning…');
    try {
      const result = await engine.pinPrefix(chat ? [{ role: 'system', content: text }] : text);
      if (chat) this.system = text;
      this.setPinStatus(describePin(result, chat), 'ok');
      this.el.dataset.pinnedTokens = String(result.tokens);
      this.host.pinned(this.index, result);
      return result;
    } catch (e) {
      this.setPinStatus(`Could not pin: ${(e as Error).message}`, 'error');
      return null;
    } finally {
      this.pinning = false;
      this.pin.disabled = false;
      this.pin.removeAttribute('aria-busy');
    }
  }

  private setPinStatus(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
    this.pinStatus.textContent = text;
    this.pinStatus.dataset.kind = kind;
  }

  private showPinnedSystem(): void {
    if (this.system && this.mode.value === 'chat') this.setPinStatus(`System prompt (pinned): ${clip(this.system)}`, 'ok');
  }

  /** Sends the prompt box's text; resolves when the answer is complete, stopped or failed. */
  async run(): Promise<void> {
    const text = this.input.value.trim();
    const engine = this.host.engine();
    if (this.busy || !text) return;
    if (!engine) {
      this.meta.textContent = 'Load a model first.';
      return;
    }
    const mode = this.mode.value as PaneMode;
    const controller = (this.controller = new AbortController());
    const out = h('span', { class: 'gen' });
    const turn = mode === 'story'
      ? h('div', { class: 'turn story' }, h('span', { class: 'prompt' }, text), out)
      : h('div', { class: 'turn chat' }, h('p', { class: 'user' }, text), h('p', { class: 'assistant' }, out));
    this.log.append(turn);
    this.input.value = '';
    this.setBusy(true);
    const run: PaneRun = { ttftMs: null, tokens: 0, tokensPerSecond: null, finish: null, usage: null };
    this.last = run;
    const t0 = performance.now();
    let firstAt = 0;
    const onText = (t: string) => {
      if (!t) return;
      if (run.ttftMs === null) {
        firstAt = performance.now();
        run.ttftMs = firstAt - t0;
      }
      run.tokens++;
      const secs = (performance.now() - firstAt) / 1000;
      run.tokensPerSecond = run.tokens > 1 && secs > 0 ? (run.tokens - 1) / secs : null;
      out.textContent += t;
      this.log.scrollTop = this.log.scrollHeight;
      this.showMeta(run, 'generating');
    };
    this.host.started(this.index);
    try {
      const sampling = this.host.sampling();
      const opts = { signal: controller.signal };
      if (mode === 'story') {
        const stream = await engine.completions.create({ prompt: text, stream: true, stream_options: { include_usage: true }, ...sampling }, opts);
        for await (const chunk of stream) {
          for (const c of chunk.choices) {
            onText(c.text);
            run.finish = c.finish_reason ?? run.finish;
          }
          run.usage = chunk.usage ?? run.usage;
        }
      } else {
        this.history.push({ role: 'user', content: text });
        const messages: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }, ...this.history] : [...this.history];
        const stream = await engine.chat.completions.create({ messages, stream: true, stream_options: { include_usage: true }, ...sampling }, opts);
        for await (const chunk of stream) {
          for (const c of chunk.choices) {
            onText(c.delta.content ?? '');
            run.finish = c.finish_reason ?? run.finish;
          }
          run.usage = chunk.usage ?? run.usage;
        }
        this.history.push({ role: 'assistant', content: out.textContent ?? '' });
      }
    } catch (e) {
      if (controller.signal.aborted) run.finish = 'abort';
      else {
        run.finish = 'error';
        turn.append(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
      }
    } finally {
      this.controller = null;
      turn.dataset.finish = run.finish ?? 'stop';
      this.setBusy(false);
      this.showMeta(run, run.finish === 'abort' ? 'stopped' : run.finish === 'error' ? 'failed' : 'done');
      this.host.ended(this.index);
    }
  }

  private setBusy(busy: boolean): void {
    this.el.dataset.state = busy ? 'generating' : 'idle';
    this.send.disabled = busy;
    this.stop.disabled = !busy;
    // Keep focus in the pane the person is working in; never pull it from another pane.
    if (!this.el.contains(document.activeElement)) return;
    if (busy) this.stop.focus();
    else this.input.focus();
  }

  private showMeta(run: PaneRun, state: string): void {
    const parts = [state];
    if (run.ttftMs !== null) parts.push(`first token ${Math.round(run.ttftMs)} ms`);
    parts.push(`${run.usage?.completion_tokens ?? run.tokens} tokens`);
    if (run.tokensPerSecond !== null) parts.push(`${run.tokensPerSecond.toFixed(1)} tok/s`);
    if (run.usage?.prompt_tokens_details.cached_tokens) parts.push(`${run.usage.prompt_tokens_details.cached_tokens} prompt tokens from cache`);
    this.meta.textContent = parts.join(' · ');
  }
}

/** "Pinned 104 tokens (6 blocks), persisted": what pinPrefix did, in words. */
export function describePin(r: PinResult, chat = false): string {
  const what = chat ? 'system prompt: ' : '';
  let text = `Pinned ${what}${plural(r.tokens, 'token')} (${plural(r.blocks, 'block')})`;
  if (r.blocks === 0) text += ', too short to share: prefixes are shared in whole blocks';
  else if (r.persisted === r.blocks) text += ', persisted';
  else if (r.persisted > 0) text += `, ${r.persisted} of ${r.blocks} persisted`;
  else text += ', not persisted (no IndexedDB)';
  if (r.restored > 0) text += ` · ${plural(r.restored, 'block')} restored from this browser`;
  return text;
}

const clip = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
