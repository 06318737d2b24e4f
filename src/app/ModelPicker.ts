import { createEngine, type LoadEvent, type WorkerFolioEngine } from '../api/index.ts';
import { field, h } from './dom.ts';
import { formatBytes } from './format.ts';

/** The default model, relative to the page: `models/` beside index.html (dev server and build). */
export const DEFAULT_MODEL = 'models/stories260K';
const CUSTOM = '__custom__';

type Backend = 'auto' | 'webgpu' | 'cpu';

/**
 * Chooses a model (the default, or a URL of a Hugging Face model folder), a backend and a KV
 * size, loads it with a progress bar, and hands the engine to `onLoaded`.
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
  /** The last load's progress events (for scripts and tests). */
  events: LoadEvent[] = [];

  constructor(private readonly onLoaded: (engine: WorkerFolioEngine, model: string) => void, private readonly onUnload: () => void) {
    this.select = h('select', { name: 'model' },
      h('option', { value: DEFAULT_MODEL }, 'stories260K (TinyStories, 1 MB)'),
      h('option', { value: CUSTOM }, 'A model folder URL…'));
    this.url = h('input', { type: 'url', name: 'url', placeholder: 'https://…/resolve/main/', hidden: true, autocomplete: 'off' });
    this.backend = h('select', { name: 'backend' },
      h('option', { value: 'auto' }, 'auto'), h('option', { value: 'webgpu' }, 'WebGPU'), h('option', { value: 'cpu' }, 'CPU'));
    this.blocks = h('input', { type: 'number', name: 'blocks', min: 8, max: 4096, step: 8, value: 96, inputmode: 'numeric' });
    this.button = h('button', { type: 'submit', class: 'primary' }, 'Load');
    this.progress = h('progress', { max: 1, value: 0, 'aria-label': 'Model loading progress' });
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'No model loaded.');
    const urlField = field('Model URL', this.url);
    urlField.hidden = true;
    this.select.addEventListener('change', () => {
      urlField.hidden = this.url.hidden = this.select.value !== CUSTOM;
      if (!this.url.hidden) this.url.focus();
    });
    this.el = h('form', { class: 'model-picker', 'aria-label': 'Model' },
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
    this.onUnload();
    this.events = [];
    this.button.disabled = true;
    document.body.dataset.modelState = 'loading';
    this.progress.removeAttribute('value'); // indeterminate until the first progress event
    this.setStatus(`Fetching ${model}…`);
    const started = performance.now();
    try {
      const engine = await createEngine({
        model,
        backend: this.backend.value as Backend,
        kv: { maxBlocks: clampInt(this.blocks.value, 8, 4096, 96) },
        onProgress: (p) => this.onProgress(p),
      });
      this.progress.value = 1;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      const { info } = engine;
      const fallback = info.fallbackReason ? ` (fell back to CPU: ${info.fallbackReason})` : '';
      const origin = info.network.requests < 0 ? '' : info.fromCache ? ', from this browser\'s cache' : `, downloaded (${mb(info.network.bytes)})`;
      const warning = info.warning ? ` Warning: ${info.warning}` : '';
      this.setStatus(`Loaded ${model} in ${secs} s on ${info.adapter}${fallback}${origin}.${warning}`, 'ok');
      document.body.dataset.modelState = 'ready';
      this.onLoaded(engine, model);
    } catch (e) {
      this.progress.value = 0;
      document.body.dataset.modelState = 'error';
      this.setStatus(`Could not load ${model}: ${(e as Error).message}`, 'error');
    } finally {
      this.button.disabled = false;
    }
  }

  /**
   * Byte progress where the weight cache reports it (bytesLoaded of bytesTotal of the file in
   * flight, from the network or from IndexedDB), else files done of files total.
   */
  private onProgress(p: LoadEvent): void {
    this.events.push(p);
    if (p.warning) {
      this.setStatus(`Warning: ${p.warning}`, 'error');
      if (!p.file) return;
    }
    if (!p.file) return;
    const files = p.filesTotal > 1 ? ` (file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal})` : '';
    if (p.bytesLoaded !== undefined && p.bytesTotal) {
      this.progress.value = Math.min(1, p.bytesLoaded / p.bytesTotal);
      const verb = p.fromCache ? 'Reading' : 'Downloading';
      const where = p.fromCache ? ' from this browser\'s cache' : '';
      this.setStatus(`${verb} ${p.file}${where}: ${mb(p.bytesLoaded)} of ${mb(p.bytesTotal)}${files}`);
    } else if (p.bytesLoaded === undefined && p.filesTotal) {
      // The model loader: a weight file has been parsed.
      this.progress.value = p.filesDone / p.filesTotal;
      this.setStatus(p.filesDone >= p.filesTotal ? 'Weights loaded; building the engine…' : `Loaded ${p.file}${files}`);
    }
  }

  private setStatus(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }
}

const mb = formatBytes;

function clampInt(v: string, lo: number, hi: number, fallback: number): number {
  const n = Math.round(Number(v));
  return Number.isFinite(n) && n > 0 ? Math.min(hi, Math.max(lo, n)) : fallback;
}
