import type { FinishReason, FolioEngine, PinResult, Usage } from '../api/index.ts';
import { ChatHistory } from './ChatHistory.ts';
import { h, nextId } from './dom.ts';
import { plural } from './format.ts';
import { paneColor } from './palette.ts';
import { type AnswerSink, streamChat, streamStory } from './paneRequests.ts';
import type { Sampling } from './SettingsForm.ts';
import { Transcript } from './Transcript.ts';

export type PaneMode = 'story' | 'chat';

export interface PaneHost {
  engine(): FolioEngine | null;
  sampling(): Sampling;
  /** Why Send cannot be used now (no model, wrong settings), or null when it can. */
  blocked(): string | null;
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
  /** Why the request decoded without the speculation the settings ask for. */
  speculationOff?: string;
}

/**
 * One conversation: a prompt box, a streamed transcript, Send and Stop. 'story' mode sends a raw
 * prompt to `completions` (stories260K continues stories); 'chat' mode keeps a message history
 * for `chat.completions`. Each mode has its own transcript, so the two never mix.
 */
export class ChatPane {
  readonly el: HTMLElement;
  readonly input: HTMLTextAreaElement;
  private readonly mode: HTMLSelectElement;
  private readonly transcripts: Record<PaneMode, Transcript>;
  private readonly send: HTMLButtonElement;
  private readonly stop: HTMLButtonElement;
  private readonly meta: HTMLElement;
  private readonly pin: HTMLButtonElement;
  private readonly pinStatus: HTMLElement;
  private readonly history = new ChatHistory();
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
    this.transcripts = { story: new Transcript(`${title} story`, 'story'), chat: new Transcript(`${title} chat`, 'chat') };
    this.input = h('textarea', { id: inputId, rows: 2, placeholder: 'Once upon a time…', enterkeyhint: 'send' });
    this.input.value = initialPrompt;
    this.send = h('button', { type: 'submit', class: 'primary send' }, 'Send');
    this.stop = h('button', { type: 'button', class: 'stop', disabled: true, 'aria-keyshortcuts': 'Escape' }, 'Stop');
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
    this.el = h('article', { class: 'pane card', 'data-pane': index, 'data-state': 'idle', 'data-mode': 'story', style: `--pane: ${paneColor(index)}` },
      h('header', {}, h('h2', {}, h('span', { class: 'swatch', 'aria-hidden': 'true' }), title), this.mode, clear),
      this.transcripts.story.el, form, h('div', { class: 'pin-row' }, this.pin, this.pinStatus), this.meta);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.run();
      }
    });
    // On the whole pane: after Send, focus is on Stop (or wherever the person moved it).
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.busy) {
        e.preventDefault();
        this.abort();
      }
    });
    this.stop.addEventListener('click', () => this.abort());
    this.pin.addEventListener('click', () => void this.pinPrefix());
    clear.addEventListener('click', () => {
      this.transcript.clear();
      if (this.currentMode === 'chat') this.history.clear();
    });
    clear.setAttribute('aria-label', `Clear ${title} transcript`);
    this.pin.setAttribute('aria-label', `Pin as shared prefix: ${title} prompt`);
    this.mode.addEventListener('change', () => this.showMode());
    this.updateSend();
  }

  get busy(): boolean {
    return this.controller !== null;
  }

  private get currentMode(): PaneMode {
    return this.mode.value as PaneMode;
  }

  private get transcript(): Transcript {
    return this.transcripts[this.currentMode];
  }

  setMode(mode: PaneMode): void {
    this.mode.value = mode;
    this.showMode();
  }

  /** Shows the mode's own transcript in place of the other's (kept, and back on switching back). */
  private showMode(): void {
    const mode = this.currentMode;
    const other = this.transcripts[mode === 'chat' ? 'story' : 'chat'].el;
    if (other.isConnected) other.replaceWith(this.transcript.el);
    this.el.dataset.mode = mode;
    this.input.placeholder = mode === 'chat' ? 'Say something…' : 'Once upon a time…';
    this.showPinnedSystem();
    this.transcript.scrollToEnd();
  }

  abort(): void {
    this.controller?.abort();
  }

  /** Send is usable only with a model loaded and every sampling field valid; the reason is its title. */
  updateSend(): void {
    const blocked = this.host.blocked();
    this.send.disabled = this.busy || blocked !== null;
    if (blocked) this.send.title = blocked;
    else this.send.removeAttribute('title');
    this.el.dataset.blocked = blocked ?? '';
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
    const chat = this.currentMode === 'chat';
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
    if (this.system && this.currentMode === 'chat') this.setPinStatus(`System prompt (pinned): ${clip(this.system)}`, 'ok');
  }

  /** Sends the prompt box's text; resolves when the answer is complete, stopped or failed. */
  async run(): Promise<void> {
    const text = this.input.value.trim();
    const engine = this.host.engine();
    if (this.busy || !text) return;
    const blocked = this.host.blocked();
    if (!engine || blocked) {
      this.meta.textContent = blocked ?? 'Load a model first.';
      return;
    }
    const mode = this.currentMode;
    const transcript = this.transcript;
    const controller = (this.controller = new AbortController());
    const { turn, out } = transcript.begin(mode, text);
    this.input.value = '';
    this.setBusy(true);
    const sampling = this.host.sampling();
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
      transcript.append(out, t);
      this.showMeta(run, 'generating');
    };
    const sink: AnswerSink = {
      text: onText,
      finish: (f) => (run.finish = f ?? run.finish),
      usage: (u) => (run.usage = u ?? run.usage),
      started: () => run.tokens > 0,
      speculationOff: (why) => (run.speculationOff = why),
    };
    this.host.started(this.index);
    try {
      if (mode === 'story') await streamStory(engine, text, sampling, controller.signal, sink);
      else {
        this.history.ask(text, turn);
        await streamChat(engine, this.history, this.system, sampling, controller.signal, sink, (n, context) => transcript.leftOut(turn, n, context));
        this.history.answer(out.textContent ?? '');
        if (run.usage?.evicted_tokens && this.history.kvBudget !== null) transcript.evicted(turn, run.usage.evicted_tokens, this.history.kvBudget);
      }
    } catch (e) {
      if (controller.signal.aborted) {
        run.finish = 'abort';
        if (mode === 'chat') this.history.answer(out.textContent ?? '');
      } else {
        run.finish = 'error';
        transcript.error(turn, e as Error);
      }
    } finally {
      this.controller = null;
      transcript.end(turn, out, run.finish ?? 'stop', sampling.max_tokens ?? undefined);
      this.setBusy(false);
      this.showMeta(run, STATE[run.finish ?? 'stop']);
      this.host.ended(this.index);
    }
  }

  private setBusy(busy: boolean): void {
    this.el.dataset.state = busy ? 'generating' : 'idle';
    this.updateSend();
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
    const spec = run.usage?.speculative;
    if (spec) parts.push(`${spec.accepted_tokens} of ${plural(spec.drafted_tokens, 'drafted token')} accepted`);
    if (run.speculationOff) parts.push(run.speculationOff);
    if (this.currentMode === 'chat' && this.history.dropped) parts.push(`oldest ${plural(this.history.dropped, 'turn')} left out of the context`);
    this.meta.textContent = parts.join(' · ');
  }
}

/** The pane's state line after a request, by how it ended. */
const STATE: Record<FinishReason | 'error', string> = { stop: 'done', length: 'token limit reached', abort: 'stopped', error: 'failed' };

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
