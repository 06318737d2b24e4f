import { createEngine, type LoadEvent, type WorkerFolioEngine } from '../api/index.ts';
import { field, h } from './dom.ts';
import { formatBytes } from './format.ts';

/** The default model, relative to the page: `models/` beside index.html (dev server and build). */
export const DEFAULT_MODEL = 'models/stories260K';
const CUSTOM = '__custom__';

type Backend = 'auto' | 'webgpu' | 'cpu';

/**
 * Chooses a model (the default, or the URL of a Hugging Face model folder, relative or absolute),
 * a backend and a KV size, loads it with one progress bar for the whole load, and hands the
 * engine to `onLoaded`. A failed load leaves the model already loaded in place: the caller only
 * hears of engines that work.
 */
export class ModelPicker {
  readonly el: HTMLFormElement;
  private readonly select: HTMLSelectElement;
  private readonly url: HTMLInputElement;
  private readonly backend: HTMLSelectElement;
  private readonly blocks: HTMLInputElement;
  private readonly button: HTMLButtonElement;
  private readonly progress: HTMLProgressElement;
  private readonly status: HTMLElement;
  /** The model in use, as the person named it; null before the first successful load. */
  private current: string | null = null;
  /** The last load's progress events (for scripts and tests). */
  events: LoadEvent[] = [];
  /** The status line's detail: what the load is doing, beside its overall percentage. */
  private detail = '';

  constructor(private readonly onLoaded: (engine: WorkerFolioEngine, model: string) => void) {
    this.select = h('select', { name: 'model' },
      h('option', { value: DEFAULT_MODEL }, 'stories260K (TinyStories, 1 MB)'),
      h('option', { value: CUSTOM }, 'A model folder URL…'));
    // type=text, not url: a path on this site (/models/x) is a fine model URL, and type=url refuses it.
    this.url = h('input', { type: 'text', inputmode: 'url', name: 'url', placeholder: '/models/… or https://…/resolve/main/', spellcheck: 'false', autocomplete: 'off' });
    this.backend = h('select', { name: 'backend' },
      h('option', { value: 'auto' }, 'auto'), h('option', { value: 'webgpu' }, 'WebGPU'), h('option', { value: 'cpu' }, 'CPU'));
    this.blocks = h('input', { type: 'number', name: 'blocks', min: 8, max: 4096, step: 8, value: 96, inputmode: 'numeric' });
    this.button = h('button', { type: 'submit', class: 'primary' }, 'Load');
    this.progress = h('progress', { max: 1, value: 0, 'aria-label': 'Model loading progress' });
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'No model loaded.');
    const urlField = field('Model URL', this.url);
    urlField.classList.add('url-field');
    urlField.hidden = true;
    this.select.addEventListener('change', () => {
      urlField.hidden = this.select.value !== CUSTOM;
      if (!urlField.hidden) this.url.focus();
    });
    this.el = h('form', { class: 'model-picker', 'aria-label': 'Model', 'data-state': 'idle' },
      h('div', { class: 'row' },
        field('Model', this.select), urlField, field('Backend', this.backend), field('KV blocks', this.blocks), this.button),
      h('div', { class: 'load' }, this.progress, this.status));
    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.load();
    });
  }

  private modelUrl(): string {
    return this.select.value === CUSTOM ? this.url.value.trim() : this.select.value;
  }

  async load(): Promise<void> {
    const model = this.modelUrl();
    if (!model) {
      this.setStatus('Enter a model folder URL.', 'error');
      this.url.focus();
      return;
    }
    this.events = [];
    this.detail = '';
    this.button.disabled = true;
    this.setState('loading');
    this.progress.removeAttribute('value'); // indeterminate until the first progress event
    this.setStatus(`Fetching ${model}…`);
    const started = performance.now();
    try {
      const engine = await createEngine({
        model,
        backend: this.backend.value as Backend,
        kv: { maxBlocks: clampInt(this.blocks.value, 8, 4096, 96) },
        onProgress: (p) => this.onProgress(p),
        // Every tab of the app shares one engine; `?shared=0` gives this tab its own.
        shared: new URLSearchParams(location.search).get('shared') !== '0',
      });
      this.progress.value = 1;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      const { info } = engine;
      const fallback = info.fallbackReason ? ` (fell back to CPU: ${info.fallbackReason})` : '';
      const origin = info.sharing?.attached ? `, shared with the other tabs as ${info.sharing.tab}` : info.network.requests < 0 ? '' : info.fromCache ? ', from this browser\'s cache' : `, downloaded (${formatBytes(info.network.bytes)})`;
      const sharing = info.sharing?.reason ? ` In this tab's own worker: ${info.sharing.reason}.` : '';
      const warning = info.warning ? ` Warning: ${info.warning}` : '';
      this.setStatus(`Loaded ${model} in ${secs} s on ${info.adapter}${fallback}${origin}.${sharing}${warning}`, 'ok');
      this.current = model;
      this.setState('ready');
      this.onLoaded(engine, model);
    } catch (e) {
      this.progress.value = 0;
      const why = `Could not load ${model}: ${(e as Error).message.replace(/\.$/, '')}`;
      // The engine in use was never touched: say so, and keep the app ready.
      this.setStatus(this.current ? `${why}. ${this.current} is still loaded and in use.` : why, 'error');
      this.setState(this.current ? 'ready' : 'error', 'failed');
    } finally {
      this.button.disabled = false;
    }
  }

  /** The whole load as one fraction (`progress`, monotone) and the loader's own line of `text`. */
  private onProgress(p: LoadEvent): void {
    this.events.push(p);
    if (p.warning && !p.file) {
      this.setStatus(p.text || `Warning: ${p.warning}`, 'error');
      return;
    }
    this.progress.value = Math.max(this.progress.position < 0 ? 0 : this.progress.value, p.progress);
    this.detail = describeStep(p, this.events.some((e) => WEIGHTS.test(e.file))) ?? this.detail;
    this.setStatus(`${this.detail} · ${Math.floor(p.progress * 100)}%`);
  }

  /** `lastLoad`: whether the most recent attempt failed, even when an older model stays in use. */
  private setState(state: 'loading' | 'ready' | 'error', lastLoad: 'ok' | 'failed' = 'ok'): void {
    document.body.dataset.modelState = state;
    this.el.dataset.state = state;
    if (state !== 'loading') this.el.dataset.lastLoad = lastLoad;
  }

  private setStatus(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.title = text; // the line is clamped to two lines; the whole text stays at hand
    this.status.dataset.kind = kind;
  }
}

const WEIGHTS = /\.(safetensors|gguf)$/;

/**
 * A progress event in words. The weights are nearly all of a load's bytes, so their byte
 * counts are shown and the small JSON files fetched beside them do not take the line over
 * (their sizes, a few hundred bytes, say nothing about how long the load takes): null, no news.
 */
function describeStep(p: LoadEvent, weightsStarted: boolean): string | null {
  if (p.bytesLoaded === undefined) return p.text; // the loader's own steps: parsed, building
  const verb = p.fromCache ? 'Reading' : 'Downloading';
  if (WEIGHTS.test(p.file)) {
    const where = p.fromCache ? ' from this browser\'s cache' : '';
    return `${verb} ${p.file}${where}: ${p.bytesTotal ? `${formatBytes(p.bytesLoaded)} of ${formatBytes(p.bytesTotal)}` : formatBytes(p.bytesLoaded)}`;
  }
  return weightsStarted ? null : `${verb} ${p.file}`;
}

function clampInt(v: string, lo: number, hi: number, fallback: number): number {
  const n = Math.round(Number(v));
  return Number.isFinite(n) && n > 0 ? Math.min(hi, Math.max(lo, n)) : fallback;
}
