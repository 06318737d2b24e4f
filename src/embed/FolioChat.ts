import type { ChatMessage, CreateEngineOptions, WorkerFolioEngine } from '../api/index.ts';
import { adoptStyle } from './adoptStyle.ts';

type Create = (opts: CreateEngineOptions) => Promise<WorkerFolioEngine>;

const STYLE = `
:host { display: block; font: 15px/1.5 system-ui, sans-serif; color: #1f2937; border: 1px solid #d1d5db; border-radius: 10px; padding: 12px; background: #fff; max-width: 640px; }
.log { min-height: 6em; max-height: 20em; overflow-y: auto; white-space: pre-wrap; font-family: Georgia, serif; margin-bottom: 8px; }
.user { font-weight: 600; color: #0f766e; }
.turn + .turn { margin-top: 8px; }
form { display: flex; gap: 6px; }
textarea { flex: 1; font: inherit; padding: 6px; border: 1px solid #d1d5db; border-radius: 6px; resize: vertical; min-width: 0; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #d1d5db; background: #f3f4f6; cursor: pointer; }
button[type=submit] { background: #2563eb; border-color: #2563eb; color: #fff; }
button:disabled { opacity: .5; cursor: default; }
.status { font-size: 12px; color: #6b7280; margin: 6px 0 0; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

/** An element with attributes and children. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** folio.js also runs as the SharedWorker of shared engines (src/embed/sharedEngineWorker.ts), where there are no elements. */
const ElementBase = (globalThis.HTMLElement ?? class {}) as typeof HTMLElement;

/** One engine per model URL and backend, shared by every <folio-chat> on the page. */
const engines = new Map<string, Promise<WorkerFolioEngine>>();

/**
 * `<folio-chat model="./models/stories260K" mode="story|chat" max-tokens="80" temperature="0.8"
 * backend="auto|webgpu|cpu" shared>`: a small chat box on Folio; with `shared`, one engine serves every tab of the site (a SharedWorker). In 'story' mode (the default) the text
 * is a raw prompt for `completions`; in 'chat' mode a conversation for `chat.completions`.
 * The element sets `data-state` to loading, ready, generating or error.
 */
export class FolioChat extends ElementBase {
  static create: Create | null = null;
  static readonly observedAttributes = ['mode'];
  private log!: HTMLElement;
  private input!: HTMLTextAreaElement;
  private send!: HTMLButtonElement;
  private stop!: HTMLButtonElement;
  private status!: HTMLElement;
  private controller: AbortController | null = null;
  private readonly history: ChatMessage[] = [];

  connectedCallback(): void {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: 'open' });
    adoptStyle(root, STYLE);
    // Built node by node, not by innerHTML: a page that requires Trusted Types refuses the latter.
    this.log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', part: 'log' });
    this.input = el('textarea', { id: 'p', rows: '2', placeholder: this.placeholder });
    this.send = el('button', { type: 'submit', disabled: '' }, 'Send');
    this.stop = el('button', { type: 'button', class: 'stop', disabled: '' }, 'Stop');
    this.status = el('p', { class: 'status', role: 'status' });
    const form = el('form', { part: 'form' }, el('label', { class: 'sr', for: 'p' }, 'Prompt'), this.input, this.send, this.stop);
    root.append(this.log, form, this.status);
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
    this.stop.addEventListener('click', () => this.controller?.abort());
    void this.engine().then(
      (engine) => {
        this.dataset.state = 'ready';
        this.status.textContent = `Ready: ${this.model} on ${engine.info.adapter}${engine.info.sharing?.tab ? `, shared as ${engine.info.sharing.tab}` : ''}`;
        this.send.disabled = false;
      },
      (e: Error) => {
        this.dataset.state = 'error';
        this.status.textContent = `Could not load ${this.model}: ${e.message}`;
      },
    );
  }

  /** The mode can change after the element is built: the prompt box's hint follows it. */
  attributeChangedCallback(): void {
    if (this.input) this.input.placeholder = this.placeholder;
  }

  private get placeholder(): string {
    return this.chatMode ? 'Say something…' : 'Once upon a time…';
  }

  get model(): string {
    return this.getAttribute('model') ?? './models/stories260K';
  }

  /** The element's engine (loading it on first use). */
  engine(): Promise<WorkerFolioEngine> {
    const backend = (this.getAttribute('backend') ?? 'auto') as CreateEngineOptions['backend'];
    const model = new URL(this.model, document.baseURI).href;
    const shared = this.hasAttribute('shared');
    const key = `${backend} ${model}${shared ? ' shared' : ''}`;
    let engine = engines.get(key);
    if (!engine) {
      if (!FolioChat.create) throw new Error('Folio is not initialised');
      this.dataset.state = 'loading';
      this.status.textContent = `Loading ${this.model}…`;
      engine = FolioChat.create({ model, backend, shared });
      engines.set(key, engine);
      engine.catch(() => engines.delete(key));
    }
    return engine;
  }

  /** Sends the text box's prompt (or `prompt` when given) and streams the answer. */
  async run(prompt?: string): Promise<string> {
    const text = (prompt ?? this.input.value).trim();
    if (!text || this.controller) return '';
    const engine = await this.engine();
    this.input.value = '';
    const controller = (this.controller = new AbortController());
    const num = (name: string) => (this.hasAttribute(name) ? Number(this.getAttribute(name)) : undefined);
    const sampling = { max_tokens: num('max-tokens') ?? 80, temperature: num('temperature') ?? 0.8, top_p: num('top-p'), seed: num('seed') };
    // A story's continuation carries its own spacing (", there", " she"): nothing is added
    // between prompt and reply. A chat answer goes on the line below the question.
    const user = el('span', { class: 'user' }, text + (this.chatMode ? '\n' : ''));
    const out = el('span', { class: 'reply' });
    this.log.append(el('div', { class: 'turn' }, user, out));
    this.scrollToEnd();
    const add = (t: string) => {
      out.textContent += t;
      this.scrollToEnd();
    };
    this.setBusy(true);
    try {
      const opts = { signal: controller.signal };
      if (this.chatMode) {
        this.history.push({ role: 'user', content: text });
        for await (const c of await engine.chat.completions.create({ messages: [...this.history], stream: true, ...sampling }, opts)) {
          add(c.choices[0]?.delta.content ?? '');
        }
        this.history.push({ role: 'assistant', content: out.textContent ?? '' });
      } else {
        for await (const c of await engine.completions.create({ prompt: text, stream: true, ...sampling }, opts)) add(c.choices[0]?.text ?? '');
      }
      this.status.textContent = 'Done.';
    } catch (e) {
      this.status.textContent = controller.signal.aborted ? 'Stopped.' : `Error: ${(e as Error).message}`;
    } finally {
      this.controller = null;
      this.setBusy(false);
      this.dispatchEvent(new CustomEvent('folio-done', { detail: { text: out.textContent } }));
    }
    return out.textContent ?? '';
  }

  private get chatMode(): boolean {
    return this.getAttribute('mode') === 'chat';
  }

  /** The newest turn stays in view as it grows. */
  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  private setBusy(busy: boolean): void {
    this.dataset.state = busy ? 'generating' : 'ready';
    this.send.disabled = busy;
    this.stop.disabled = !busy;
  }
}

export function defineFolioChat(create: Create): void {
  FolioChat.create = create;
  if (!customElements.get('folio-chat')) customElements.define('folio-chat', FolioChat);
}
